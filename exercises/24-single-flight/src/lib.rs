//! A read-through cache in front of the product catalogue service.
//!
//! Incident report from the catalogue team: "Whenever a product goes on the front page, our
//! service gets a burst of identical requests for that one product: ten, twenty, fifty of them
//! within a few milliseconds, all from your shop front. Don't you have a cache?"

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

        // A miss: load it from the catalogue once, and from now on it is served from memory.
        let value = self.loader.load(key).await?;
        self.values
            .lock()
            .unwrap()
            .insert(key.to_owned(), value.clone());
        Ok(value)
    }
}
