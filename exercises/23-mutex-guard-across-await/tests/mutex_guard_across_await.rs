//! These tests compile only once `src/lib.rs` does: until then, the compiler's error is the
//! kata's first test.
//!
//! Every test runs on a paused clock: the fake pricing service "takes" its round trip of 1 s in
//! virtual time, so the tests take microseconds and can measure exactly how long refreshes
//! waited. The fake also records every request it gets and how many were in flight at once.
//!
//! The property under test: the cache's lock is only ever held for a moment, never across a
//! request to the pricing service. So refreshes of different SKUs wait for the service together,
//! a product page never waits for anybody's round trip (however the refreshes overlap), and every
//! refresh still sends the version it holds and lands its answer without losing anyone else's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mutex_guard_across_await::{Fetched, PriceCache, PricingService};
use tokio::time::{sleep, timeout, Instant};

/// How long the pricing service takes to answer one request.
const ROUND_TRIP: Duration = Duration::from_secs(1);

/// Far longer than any refresh takes.
const PATIENCE: Duration = Duration::from_secs(60);

/// The shop's catalogue: SKU, price in cents, version tag.
const CATALOGUE: &[(&str, u64, &str)] = &[
    ("kettle", 2499, "k1"),
    ("teapot", 1850, "t1"),
    ("mug", 650, "m1"),
    ("toaster", 3999, "o1"),
    ("whisk", 899, "w1"),
];

#[derive(Default)]
struct State {
    /// The current price and version tag of each SKU.
    prices: Mutex<HashMap<String, (u64, String)>>,
    /// Every request received: the SKU and the version tag sent with it.
    requests: Mutex<Vec<(String, Option<String>)>>,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
}

/// A fake pricing service. Clones share one state, so a test keeps a clone to look inside.
#[derive(Clone, Default)]
struct FakePricing {
    state: Arc<State>,
}

impl FakePricing {
    fn with_catalogue() -> FakePricing {
        let pricing = FakePricing::default();
        for &(sku, cents, etag) in CATALOGUE {
            pricing.set_price(sku, cents, etag);
        }
        pricing
    }

    fn set_price(&self, sku: &str, cents: u64, etag: &str) {
        self.state
            .prices
            .lock()
            .unwrap()
            .insert(sku.to_string(), (cents, etag.to_string()));
    }

    fn requests(&self) -> Vec<(String, Option<String>)> {
        self.state.requests.lock().unwrap().clone()
    }

    fn in_flight(&self) -> usize {
        self.state.in_flight.load(Ordering::SeqCst)
    }

    fn peak_in_flight(&self) -> usize {
        self.state.peak_in_flight.load(Ordering::SeqCst)
    }
}

impl PricingService for FakePricing {
    async fn fetch(&self, sku: &str, etag: Option<&str>) -> Fetched {
        let state = &self.state;
        state
            .requests
            .lock()
            .unwrap()
            .push((sku.to_string(), etag.map(str::to_string)));
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.peak_in_flight.fetch_max(now, Ordering::SeqCst);

        sleep(ROUND_TRIP).await;

        state.in_flight.fetch_sub(1, Ordering::SeqCst);
        let (price_cents, current) = state
            .prices
            .lock()
            .unwrap()
            .get(sku)
            .cloned()
            .unwrap_or_else(|| panic!("the pricing service was asked for an unknown SKU {sku:?}"));
        if etag == Some(current.as_str()) {
            Fetched::NotModified
        } else {
            Fetched::Changed {
                price_cents,
                etag: current,
            }
        }
    }
}

/// Starts one refresh per SKU, all at once, and waits until every one has finished. Returns how
/// much virtual time that took.
async fn refresh(cache: &PriceCache<FakePricing>, skus: &[&str]) -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = skus.iter().map(|sku| cache.spawn_refresh(sku)).collect();
    let all_done = async {
        for handle in handles {
            handle.await.expect("a refresh task panicked");
        }
    };
    timeout(PATIENCE, all_done).await.unwrap_or_else(|_| {
        panic!(
            "{} refresh(es) of {skus:?} had not finished after 60 s of virtual time, although \
             the pricing service answers in 1 s: a refresh is stuck",
            skus.len()
        )
    });
    start.elapsed()
}

fn all_skus() -> Vec<&'static str> {
    CATALOGUE.iter().map(|&(sku, _, _)| sku).collect()
}

#[tokio::test(start_paused = true)]
async fn a_refresh_stores_the_fetched_price() {
    let pricing = FakePricing::with_catalogue();
    let cache = PriceCache::new(pricing.clone());
    assert_eq!(
        cache.price("kettle").await,
        None,
        "a new cache should hold no prices"
    );

    refresh(&cache, &["kettle"]).await;

    assert_eq!(
        pricing.requests(),
        vec![("kettle".to_string(), None)],
        "one refresh of an SKU we hold no version of should make one request, with no version tag"
    );
    assert_eq!(
        cache.price("kettle").await,
        Some(2499),
        "after the refresh, the cache should hold the price the pricing service returned"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refresh_sends_the_version_we_hold() {
    let pricing = FakePricing::with_catalogue();
    let cache = PriceCache::new(pricing.clone());

    refresh(&cache, &["kettle"]).await;
    refresh(&cache, &["kettle"]).await;
    assert_eq!(
        cache.price("kettle").await,
        Some(2499),
        "the pricing service answered NotModified, so the cached price should stay as it was"
    );

    pricing.set_price("kettle", 2199, "k2");
    refresh(&cache, &["kettle"]).await;

    let requests = pricing.requests();
    let expected = vec![
        ("kettle".to_string(), None),
        ("kettle".to_string(), Some("k1".to_string())),
        ("kettle".to_string(), Some("k1".to_string())),
    ];
    assert_eq!(
        requests, expected,
        "each refresh after the first should send the version tag of the price we hold \
         (\"k1\"), so the service can answer NotModified"
    );
    assert_eq!(
        cache.price("kettle").await,
        Some(2199),
        "the price changed to 2199 (version \"k2\"), but the cache did not store it"
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_refreshes_all_land() {
    let pricing = FakePricing::with_catalogue();
    let cache = PriceCache::new(pricing.clone());

    refresh(&cache, &all_skus()).await;

    let mut lost = Vec::new();
    for &(sku, cents, _) in CATALOGUE {
        match cache.price(sku).await {
            Some(price) if price == cents => {}
            got => lost.push(format!("{sku} (cached {got:?}, fetched {cents})")),
        }
    }
    assert!(
        lost.is_empty(),
        "{} refreshes of different SKUs ran at the same time, and the pricing service answered \
         every one, but {} of the fetched prices are not in the cache: {lost:?}. Updates were \
         lost: did a refresh write back a copy of the cache it had taken before its fetch, \
         overwriting what the other refreshes stored meanwhile?",
        CATALOGUE.len(),
        lost.len()
    );
}

#[tokio::test(start_paused = true)]
async fn refreshes_of_different_skus_fetch_at_the_same_time() {
    let pricing = FakePricing::with_catalogue();
    let cache = PriceCache::new(pricing.clone());

    let elapsed = refresh(&cache, &all_skus()).await;

    let peak = pricing.peak_in_flight();
    assert!(
        elapsed <= ROUND_TRIP + Duration::from_millis(500) && peak == CATALOGUE.len(),
        "{n} refreshes of different SKUs, each a 1 s round trip to the pricing service, took \
         {elapsed:?} of virtual time, with at most {peak} request(s) in flight at once; they \
         should all wait together, in about 1 s with {n} in flight. A refresh that keeps the \
         cache locked while it waits for the pricing service makes every other refresh wait \
         for the lock: take the lock only to read or write the cache, never across an `.await`",
        n = CATALOGUE.len()
    );
}

#[tokio::test(start_paused = true)]
async fn reading_a_price_does_not_wait_for_a_refresh() {
    let pricing = FakePricing::with_catalogue();
    let cache = PriceCache::new(pricing.clone());
    refresh(&cache, &["kettle"]).await;

    // Start a refresh and give it 100 ms to send its request: it is now waiting for the answer,
    // which takes 1 s.
    let pending = cache.spawn_refresh("kettle");
    sleep(Duration::from_millis(100)).await;
    assert_eq!(
        pricing.in_flight(),
        1,
        "100 ms after spawn_refresh, the refresh should be waiting for the pricing service"
    );

    // A product page reads the price meanwhile.
    let read = timeout(Duration::from_millis(10), cache.price("kettle")).await;
    let Ok(price) = read else {
        panic!(
            "a product page asked for the cached price of \"kettle\" while a refresh was waiting \
             for the pricing service, and got no answer within 10 ms of virtual time: the \
             refresh keeps the cache locked across its fetch, so every page waits for a network \
             round trip. Take the lock only to read or write the cache, never across an `.await`"
        );
    };
    assert_eq!(
        price,
        Some(2499),
        "during a refresh, readers should see the price cached before it"
    );

    timeout(PATIENCE, pending)
        .await
        .expect("the refresh did not finish within 60 s of virtual time")
        .expect("the refresh task panicked");
}

#[tokio::test(start_paused = true)]
async fn reads_never_wait_while_refreshes_overlap() {
    let pricing = FakePricing::with_catalogue();
    let cache = PriceCache::new(pricing.clone());
    refresh(&cache, &all_skus()).await;
    // Every price changes, and refreshes start 300 ms apart: each one is a 1 s round trip, so
    // at any moment two to four of them are waiting for the pricing service, and one or another
    // is storing its answer.
    for &(sku, cents, _) in CATALOGUE {
        pricing.set_price(sku, cents + 100, &format!("{sku}-2"));
    }
    let start = Instant::now();
    let mut refreshes = Vec::new();
    for tick in 0..30u32 {
        if tick % 3 == 0 {
            if let Some(&(sku, _, _)) = CATALOGUE.get(tick as usize / 3) {
                refreshes.push(cache.spawn_refresh(sku));
            }
        }
        // A product page reads every price, every 100 ms.
        for &(sku, cents, _) in CATALOGUE {
            let read = timeout(Duration::from_millis(10), cache.price(sku)).await;
            let Ok(price) = read else {
                panic!(
                    "{:?} after the first of 5 overlapping refreshes started, a product page \
                     asked for the price of {sku:?} and got no answer within 10 ms of virtual \
                     time: a refresh keeps a lock that readers need while it waits for the \
                     pricing service (or while it waits for another refresh that does). Take \
                     the lock only to read or write the cache, never across an `.await`",
                    start.elapsed()
                );
            };
            assert!(
                price == Some(cents) || price == Some(cents + 100),
                "during the refreshes, the price of {sku:?} read {price:?}; it should be the \
                 price cached before ({cents}) or the new one ({})",
                cents + 100
            );
        }
        sleep(Duration::from_millis(100)).await;
    }
    for handle in refreshes {
        timeout(PATIENCE, handle)
            .await
            .expect("a refresh did not finish within 60 s of virtual time")
            .expect("a refresh task panicked");
    }
    for &(sku, cents, _) in CATALOGUE {
        assert_eq!(
            cache.price(sku).await,
            Some(cents + 100),
            "after the overlapping refreshes, the cache should hold the new price of {sku:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_abandoned_refresh_keeps_the_cached_price() {
    let pricing = FakePricing::with_catalogue();
    let cache = PriceCache::new(pricing.clone());
    refresh(&cache, &["kettle"]).await;
    pricing.set_price("kettle", 2199, "k2");

    // A refresh is aborted half way through its round trip (the service is being shut down).
    let abandoned = cache.spawn_refresh("kettle");
    sleep(Duration::from_millis(500)).await;
    abandoned.abort();
    let _ = abandoned.await;

    assert_eq!(
        cache.price("kettle").await,
        Some(2499),
        "a refresh of \"kettle\" was aborted while it waited for the pricing service; the \
         cache should still hold the price it had before (2499): until an answer arrives, the \
         old price is the best we know"
    );
    refresh(&cache, &["kettle"]).await;
    assert_eq!(
        cache.price("kettle").await,
        Some(2199),
        "after an aborted refresh, the next refresh of \"kettle\" should store the new price"
    );
}
