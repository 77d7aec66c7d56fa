//! A read-through cache in front of the product catalogue service: the reference solution.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

/// Fetches one product (by its SKU) from the catalogue service. In production this is an HTTP
/// call that takes a while. Like most HTTP clients, a `Loader` is cheap to clone: clones share
/// one connection pool.
pub trait Loader: Clone + Send + Sync + 'static {
    fn load(&self, key: &str) -> impl Future<Output = anyhow::Result<String>> + Send;
}

/// Remembers every product it has loaded, so each one is fetched from the catalogue only once.
pub struct Cache<L> {
    loader: L,
    // One cell per key, created on the first get. The cell, not the map, records whether the
    // value is loaded, being loaded, or not loaded yet.
    values: Mutex<HashMap<String, Arc<OnceCell<String>>>>,
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
        // The map's lock is held only to find or create the key's cell, never across the load,
        // so loads of different keys still run concurrently.
        let cell = Arc::clone(
            self.values
                .lock()
                .unwrap()
                .entry(key.to_owned())
                .or_default(),
        );

        // Single flight: the first caller runs the load; everyone who comes for the same key
        // meanwhile waits for its result instead of loading again. A failed load leaves the
        // cell empty, so the next get tries again.
        let value = cell.get_or_try_init(|| self.loader.load(key)).await?;
        Ok(value.clone())
    }
}
