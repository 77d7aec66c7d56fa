//! Rejected: checks the map again after the load and keeps the value already there (`entry(..).or_insert`): every caller still loads, only the extra values are thrown away.
//! Fails: ten_concurrent_gets_of_one_key_fetch_it_once, hot_keys_are_each_fetched_once_in_a_burst
//! A read-through cache in front of the product catalogue service.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

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
        let cached = self.values.lock().unwrap().get(key).cloned();
        if let Some(value) = cached {
            return Ok(value);
        }

        let value = self.loader.load(key).await?;
        // Someone may have loaded it meanwhile: keep theirs, so every caller gets one value.
        let mut values = self.values.lock().unwrap();
        Ok(values.entry(key.to_owned()).or_insert(value).clone())
    }
}
