//! Every test runs on a paused clock (`start_paused = true`): a request "takes" its latency in
//! virtual time, so 200 requests cost microseconds of real time, and elapsed times are exact.
//!
//! The fake pricing API counts the requests in flight (started, not yet answered) and records the
//! peak. Most SKUs answer in 100 ms; every 9th one is slow (1 s).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bounded_concurrency::{fetch_prices, Cents};
use tokio::time::{sleep, timeout, Instant};

/// The size of the nightly refresh in most tests.
const SKUS: usize = 200;
/// The quota in most tests.
const QUOTA: usize = 10;

const FAST: Duration = Duration::from_millis(100);
const SLOW: Duration = Duration::from_secs(1);

/// Far longer than any reasonable run: 200 requests one at a time take about 40 s.
const PATIENCE: Duration = Duration::from_secs(60);

fn sku(index: usize) -> String {
    format!("SKU-{index:04}")
}

fn index_of(sku: &str) -> usize {
    sku.strip_prefix("SKU-")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the pricing API got a request for an unknown SKU {sku:?}"))
}

/// Every 9th SKU is slow. A batch of 10 always holds one or two slow ones, so a batch takes 1 s,
/// while a sliding window keeps serving fast requests next to the slow ones.
fn latency(index: usize) -> Duration {
    if index % 9 == 4 {
        SLOW
    } else {
        FAST
    }
}

/// The fake price of a SKU. Unique per SKU, so a result in the wrong place shows.
fn price(index: usize) -> Cents {
    1_000 + 7 * index as Cents
}

/// A fake pricing API that records how many requests are in flight at once.
#[derive(Default)]
struct PricingApi {
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

/// Counts one request as in flight until dropped (answered, or cancelled by the caller).
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PricingApi {
    async fn price(&self, sku: String) -> Cents {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let _in_flight = InFlight(&self.in_flight);

        let index = index_of(&sku);
        sleep(latency(index)).await;
        price(index)
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

type Request = Pin<Box<dyn Future<Output = Cents> + Send>>;

/// The `fetch` function handed to `fetch_prices`: one request to the fake API.
fn client(api: &Arc<PricingApi>) -> impl Fn(String) -> Request + Clone + Send + Sync + 'static {
    let api = Arc::clone(api);
    move |sku: String| {
        let api = Arc::clone(&api);
        Box::pin(async move { api.price(sku).await })
    }
}

struct Run {
    prices: Vec<Cents>,
    peak: usize,
    elapsed: Duration,
}

/// Fetches the prices of `skus` SKUs with a quota of `quota`, on a fresh fake API.
async fn run(skus: usize, quota: usize) -> Run {
    let api = Arc::new(PricingApi::default());
    let skus: Vec<String> = (0..skus).map(sku).collect();

    let start = Instant::now();
    let prices = timeout(PATIENCE, fetch_prices(&skus, quota, client(&api)))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "fetch_prices({} SKUs, max_in_flight = {quota}) had not returned after {PATIENCE:?} \
                 of virtual time, although no request takes longer than 1 s: it is stuck",
                skus.len()
            )
        });
    Run {
        prices,
        peak: api.peak(),
        elapsed: start.elapsed(),
    }
}

#[tokio::test(start_paused = true)]
async fn never_more_than_max_in_flight_requests() {
    for quota in [QUOTA, 3] {
        let Run { peak, .. } = run(SKUS, quota).await;
        assert!(
            peak <= quota,
            "{peak} requests to the pricing API were in flight at once, but max_in_flight is \
             {quota}: the quota was exceeded (with {SKUS} SKUs, a peak of {SKUS} means every \
             request was sent at once)"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn keeps_max_in_flight_requests_going() {
    for quota in [QUOTA, 3] {
        let Run { peak, .. } = run(SKUS, quota).await;
        assert!(
            peak >= quota,
            "at most {peak} request(s) were ever in flight at once, although max_in_flight \
             allows {quota}: the requests ran one after another (or in too few lanes), and the \
             refresh takes far longer than the quota requires"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn finishes_as_soon_as_a_sliding_window_would() {
    let slow = (0..SKUS).filter(|&i| latency(i) == SLOW).count();
    let Run { elapsed, .. } = run(SKUS, QUOTA).await;

    // Measured under paused time: a sliding window of 10 takes 4.6 s when results may come back
    // in any order and 11.1 s when they must come back in input order (a slow request at the
    // head holds back the window); batches of 10 take 20 s; one at a time 39.8 s.
    let limit = Duration::from_secs(15);
    assert!(
        elapsed <= limit,
        "{SKUS} requests ({slow} slow ones of 1 s, the rest 100 ms) with max_in_flight = {QUOTA} \
         took {elapsed:?} of virtual time; a sliding window, which starts the next request as \
         soon as one finishes, needs at most about 11 s. Sending them in batches of {QUOTA} takes \
         20 s: each batch waits for its slowest request while the other slots sit idle. One at \
         a time takes 40 s"
    );
}

#[tokio::test(start_paused = true)]
async fn prices_come_back_in_sku_order() {
    let Run { prices, .. } = run(SKUS, QUOTA).await;

    assert_eq!(
        prices.len(),
        SKUS,
        "fetch_prices must return one price per SKU: {SKUS} SKUs, {} prices",
        prices.len()
    );
    if let Some(i) = (0..SKUS).find(|&i| prices[i] != price(i)) {
        let got = prices[i];
        let from = (0..SKUS)
            .find(|&j| price(j) == got)
            .map_or_else(|| "no SKU".to_owned(), sku);
        panic!(
            "prices[i] must be the price of skus[i], but prices[{i}] is {got}, the price of \
             {from}, not of {} ({}): the prices came back in the order the requests finished, \
             not in the order of the SKUs",
            sku(i),
            price(i)
        );
    }
}
