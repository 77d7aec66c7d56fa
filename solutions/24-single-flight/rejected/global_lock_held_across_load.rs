//! Rejected: one `tokio::sync::Mutex` around the whole map, held from the check across the load to the insert: one flight per key, but every get waits for every other key's load too.
//! Fails: different_keys_load_concurrently, hot_keys_are_each_fetched_once_in_a_burst
//! A read-through cache in front of the product catalogue service.

use std::collections::HashMap;
use std::future::Future;

use tokio::sync::Mutex;

/// Fetches one product (by its SKU) from the catalogue service. In production this is an HTTP
/// call that takes a while. Like most HTTP clients, a `Loader` is cheap to clone: clones share
/// one connection pool.
pub trait Loader: Clone + Send + Sync + 'static {
    fn load(&self, key: &str) -> impl Future<Output = anyhow::Result<String>> + Send;
}

/// Remembers every product it has loaded, so each one is fetched from the catalogue only once.
pub struct Cache<L> {
    loader: L,
    values: Mutex<HashMap<String, String>>,
}

impl<L: Loader> Cache<L> {
    pub fn new(loader: L) -> Self {
        Cache {
            loader,
            values: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the product stored under `key`, loading it from the catalogue on first use.
    ///
    /// A failed load is returned to the caller and not remembered: a later `get` tries again.
    pub async fn get(&self, key: &str) -> anyhow::Result<String> {
        // An async lock may be held across the load, so the check and the insert are one step:
        // whoever comes while a load is in flight waits for it and finds the value.
        let mut values = self.values.lock().await;
        if let Some(value) = values.get(key) {
            return Ok(value.clone());
        }
        let value = self.loader.load(key).await?;
        values.insert(key.to_owned(), value.clone());
        Ok(value)
    }
}
