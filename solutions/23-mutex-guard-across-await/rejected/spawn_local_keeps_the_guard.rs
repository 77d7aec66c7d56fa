//! Rejected: silences "future cannot be sent between threads safely" with `spawn_local`, which takes futures that are not `Send`; the guard still lives across the fetch, and outside a `LocalSet` the spawn panics.
//! Fails: a_refresh_stores_the_fetched_price, concurrent_refreshes_all_land, clippy::await_holding_lock
//! The price cache behind the shop's product pages.
//!
//! Product pages read prices from this cache. When a page notices that a price is stale, it asks
//! for a refresh, which asks the pricing service whether the price changed since the version we
//! hold (a conditional request, like HTTP's `If-None-Match`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;

/// What the pricing service answers to a conditional request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The price changed since the version we sent (or we sent none): the new price, with the
    /// tag of its version.
    Changed { price_cents: u64, etag: String },
    /// The price is still the version we sent.
    NotModified,
}

/// Client for the pricing service; in production, an HTTP call to another team's service.
pub trait PricingService: Send + Sync + 'static {
    /// Asks for the price of `sku`. `etag` is the version we hold, if any: when it is still
    /// current, the service answers `NotModified` instead of sending the price again.
    fn fetch(&self, sku: &str, etag: Option<&str>) -> impl Future<Output = Fetched> + Send;
}

#[derive(Debug, Clone)]
struct Entry {
    price_cents: u64,
    etag: String,
}

/// Cached prices by SKU. Cheap to clone: clones share one cache.
pub struct PriceCache<S> {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    service: Arc<S>,
}

impl<S> Clone for PriceCache<S> {
    fn clone(&self) -> Self {
        PriceCache {
            entries: Arc::clone(&self.entries),
            service: Arc::clone(&self.service),
        }
    }
}

impl<S: PricingService> PriceCache<S> {
    pub fn new(service: S) -> Self {
        PriceCache {
            entries: Arc::default(),
            service: Arc::new(service),
        }
    }

    /// The cached price of `sku` in cents, if we have one. Every product page calls this.
    pub async fn price(&self, sku: &str) -> Option<u64> {
        let entries = self.entries.lock().unwrap();
        entries.get(sku).map(|entry| entry.price_cents)
    }

    /// Refreshes the cached price of `sku` in a background task, so that the page that noticed
    /// the stale price does not wait for the pricing service. Refreshes of different SKUs run at
    /// the same time.
    pub fn spawn_refresh(&self, sku: &str) -> JoinHandle<()> {
        let entries = Arc::clone(&self.entries);
        let service = Arc::clone(&self.service);
        let sku = sku.to_owned();
        tokio::task::spawn_local(async move {
            // Keep the cache locked for the whole refresh, from reading the version we hold to
            // storing the new price, so that nobody ever sees a half-updated entry.
            let mut entries = entries.lock().unwrap();
            let etag = entries.get(&sku).map(|entry| entry.etag.as_str());
            match service.fetch(&sku, etag).await {
                Fetched::Changed { price_cents, etag } => {
                    entries.insert(sku, Entry { price_cents, etag });
                }
                Fetched::NotModified => {}
            }
        })
    }
}
