//! Rejected: a `tokio::sync::RwLock` whose read guard is held across the fetch; reads share it, but a refresh that stores its answer waits for every fetch in flight, and pages queue behind it.
//! Fails: reads_never_wait_while_refreshes_overlap
//! The price cache behind the shop's product pages.
//!
//! Product pages read prices from this cache. When a page notices that a price is stale, it asks
//! for a refresh, which asks the pricing service whether the price changed since the version we
//! hold (a conditional request, like HTTP's `If-None-Match`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::RwLock;
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
    entries: Arc<RwLock<HashMap<String, Entry>>>,
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
        let entries = self.entries.read().await;
        entries.get(sku).map(|entry| entry.price_cents)
    }

    /// Refreshes the cached price of `sku` in a background task, so that the page that noticed
    /// the stale price does not wait for the pricing service. Refreshes of different SKUs run at
    /// the same time.
    pub fn spawn_refresh(&self, sku: &str) -> JoinHandle<()> {
        let entries = Arc::clone(&self.entries);
        let service = Arc::clone(&self.service);
        let sku = sku.to_owned();
        tokio::spawn(async move {
            // Readers share a read lock, so holding one across the fetch blocks nobody; take
            // the write lock only to store the answer.
            let cached = entries.read().await;
            let etag = cached.get(&sku).map(|entry| entry.etag.clone());
            let fetched = service.fetch(&sku, etag.as_deref()).await;
            drop(cached);
            if let Fetched::Changed { price_cents, etag } = fetched {
                entries
                    .write()
                    .await
                    .insert(sku, Entry { price_cents, etag });
            }
        })
    }
}
