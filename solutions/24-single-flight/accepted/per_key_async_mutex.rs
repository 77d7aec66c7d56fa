//! Accepted: a `tokio::sync::Mutex<Option<String>>` per key, held across that key's load only: the first get loads, later gets of the key queue on its lock and find the value.
//! A read-through cache in front of the product catalogue service.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// Fetches one product (by its SKU) from the catalogue service. In production this is an HTTP
/// call that takes a while. Like most HTTP clients, a `Loader` is cheap to clone: clones share
/// one connection pool.
pub trait Loader: Clone + Send + Sync + 'static {
    fn load(&self, key: &str) -> impl Future<Output = anyhow::Result<String>> + Send;
}

/// Remembers every product it has loaded, so each one is fetched from the catalogue only once.
pub struct Cache<L> {
    loader: L,
    /// One async lock per key: whoever holds it is the one loading that key.
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<String>>>>>,
}

impl<L: Loader> Cache<L> {
    pub fn new(loader: L) -> Self {
        Cache {
            loader,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the product stored under `key`, loading it from the catalogue on first use.
    ///
    /// A failed load is returned to the caller and not remembered: a later `get` tries again.
    pub async fn get(&self, key: &str) -> anyhow::Result<String> {
        let slot = Arc::clone(
            self.slots
                .lock()
                .unwrap()
                .entry(key.to_owned())
                .or_default(),
        );
        // Only gets of this key wait here. If the holder is cancelled or fails, the lock is
        // released with the slot still empty, and the next in line loads.
        let mut slot = slot.lock().await;
        if let Some(value) = &*slot {
            return Ok(value.clone());
        }
        let value = self.loader.load(key).await?;
        *slot = Some(value.clone());
        Ok(value)
    }
}
