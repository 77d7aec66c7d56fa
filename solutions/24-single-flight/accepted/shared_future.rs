//! Accepted: a shared in-flight future per key (`futures::future::Shared`), cloned out of the map under the lock and awaited outside it; a failed flight is removed so the next get loads again.
//! A read-through cache in front of the product catalogue service.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::future::{BoxFuture, FutureExt, Shared};

/// Fetches one product (by its SKU) from the catalogue service. In production this is an HTTP
/// call that takes a while. Like most HTTP clients, a `Loader` is cheap to clone: clones share
/// one connection pool.
pub trait Loader: Clone + Send + Sync + 'static {
    fn load(&self, key: &str) -> impl Future<Output = anyhow::Result<String>> + Send;
}

/// One load, shared by every get of its key while it runs. Its output is cloned to each of
/// them, so the error is behind an `Arc`.
type Flight = Shared<BoxFuture<'static, Result<String, Arc<anyhow::Error>>>>;

/// Remembers every product it has loaded, so each one is fetched from the catalogue only once.
pub struct Cache<L> {
    loader: L,
    flights: Mutex<HashMap<String, Flight>>,
}

impl<L: Loader> Cache<L> {
    pub fn new(loader: L) -> Self {
        Cache {
            loader,
            flights: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the product stored under `key`, loading it from the catalogue on first use.
    ///
    /// A failed load is returned to the caller and not remembered: a later `get` tries again.
    pub async fn get(&self, key: &str) -> anyhow::Result<String> {
        // Find the key's flight, or start one, in one step under the lock. A finished flight
        // keeps its value: awaiting it again returns it at once.
        let flight = {
            let mut flights = self.flights.lock().unwrap();
            let flight = flights.entry(key.to_owned()).or_insert_with(|| {
                let loader = self.loader.clone();
                let key = key.to_owned();
                async move { loader.load(&key).await.map_err(Arc::new) }
                    .boxed()
                    .shared()
            });
            flight.clone()
        };
        match flight.clone().await {
            Ok(value) => Ok(value),
            Err(err) => {
                // Forget the failed flight (unless a newer one replaced it already), so the
                // next get loads again.
                let mut flights = self.flights.lock().unwrap();
                if flights.get(key).is_some_and(|f| f.ptr_eq(&flight)) {
                    flights.remove(key);
                }
                drop(flights);
                Err(FailedLoad(err).into())
            }
        }
    }
}

/// A failed load, as each of the gets that shared it sees it: the same message and causes.
#[derive(Debug)]
struct FailedLoad(Arc<anyhow::Error>);

impl fmt::Display for FailedLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for FailedLoad {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}
