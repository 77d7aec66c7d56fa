//! Accepted: marks a key as loading in the map, and a drop guard clears the mark and wakes the waiters however the load ends (value, error, or the loading get cancelled); a woken get looks again.
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

    /// Loads `key`, stores the value, and wakes everyone waiting. The guard does the clean-up
    /// even if this future is dropped half way, so no key stays "loading" for ever.
    async fn load(&self, key: &str, notify: Arc<Notify>) -> anyhow::Result<String> {
        let _mark = LoadingMark {
            slots: &self.slots,
            key,
            notify,
        };
        let value = self.loader.load(key).await?;
        self.slots
            .lock()
            .unwrap()
            .insert(key.to_owned(), Slot::Ready(value.clone()));
        Ok(value)
    }
}

/// Owned by the get that is loading a key. On drop, the key is no longer being loaded: if no
/// value was stored, the mark goes, and either way the waiting gets wake up to look again.
struct LoadingMark<'a> {
    slots: &'a Mutex<HashMap<String, Slot>>,
    key: &'a str,
    notify: Arc<Notify>,
}

impl Drop for LoadingMark<'_> {
    fn drop(&mut self) {
        let mut slots = self.slots.lock().unwrap();
        if matches!(slots.get(self.key), Some(Slot::Loading(n)) if Arc::ptr_eq(n, &self.notify)) {
            slots.remove(self.key);
        }
        drop(slots);
        self.notify.notify_waiters();
    }
}
