//! Rejected: marks a key as loading and clears the mark after the load, on success and on failure, but not when the get doing the load is cancelled: every later get of that key waits for ever.
//! Fails: a_get_cancelled_mid_fetch_does_not_block_the_next_get, gets_waiting_on_a_cancelled_fetch_still_get_the_value
//! A read-through cache in front of the product catalogue service.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Fetches one product (by its SKU) from the catalogue service. In production this is an HTTP
/// call that takes a while. Like most HTTP clients, a `Loader` is cheap to clone: clones share
/// one connection pool.
pub trait Loader: Clone + Send + Sync + 'static {
    fn load(&self, key: &str) -> impl Future<Output = anyhow::Result<String>> + Send;
}

/// A key's state: loaded, or being loaded by some get (the others wait on the `Notify`).
enum Slot {
    Ready(String),
    Loading(Arc<Notify>),
}

/// Remembers every product it has loaded, so each one is fetched from the catalogue only once.
pub struct Cache<L> {
    loader: L,
    slots: Mutex<HashMap<String, Slot>>,
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
        loop {
            let (notify, ours) = {
                let mut slots = self.slots.lock().unwrap();
                match slots.get(key) {
                    Some(Slot::Ready(value)) => return Ok(value.clone()),
                    Some(Slot::Loading(notify)) => (Arc::clone(notify), false),
                    None => {
                        let notify = Arc::new(Notify::new());
                        slots.insert(key.to_owned(), Slot::Loading(Arc::clone(&notify)));
                        (notify, true)
                    }
                }
            };
            if ours {
                return self.load(key, notify).await;
            }
            // Someone else is loading it: wait for them, then look again. `notified` is created
            // before we look whether they are still at it, so their `notify_waiters` cannot be
            // missed in between.
            let notified = notify.notified();
            let still_loading = matches!(
                self.slots.lock().unwrap().get(key),
                Some(Slot::Loading(n)) if Arc::ptr_eq(n, &notify)
            );
            if still_loading {
                notified.await;
            }
        }
    }

    /// Loads `key`, then stores the value (or forgets the key) and wakes everyone waiting.
    async fn load(&self, key: &str, notify: Arc<Notify>) -> anyhow::Result<String> {
        let result = self.loader.load(key).await;
        {
            let mut slots = self.slots.lock().unwrap();
            match &result {
                Ok(value) => slots.insert(key.to_owned(), Slot::Ready(value.clone())),
                Err(_) => slots.remove(key),
            };
        }
        notify.notify_waiters();
        result
    }
}
