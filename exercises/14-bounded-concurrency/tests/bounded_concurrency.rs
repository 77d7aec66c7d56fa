//! Every test runs on a paused clock (`start_paused = true`): a request "takes" its latency in
//! virtual time, so 200 requests cost microseconds of real time, and elapsed times are exact.
//!
//! The fake pricing API counts the requests in flight (started, not yet answered) and records the
//! peak. Most SKUs answer in 100 ms and some are slow (1 s); which ones depends on the test.

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

/// Far longer than any run: 200 requests one at a time take at most about 100 s.
const PATIENCE: Duration = Duration::from_secs(300);

/// Which SKUs are slow.
#[derive(Clone, Copy, Debug)]
enum Slow {
    /// Every 9th SKU, spread through the catalogue: every batch of 10 holds one or two.
    Spread,
    /// The first 20 SKUs, one after another at the head of the catalogue.
    AtTheHead,
    /// Latencies from 50 ms to 1 s, varying from SKU to SKU.
    Mixed,
}

impl Slow {
    fn latency(self, index: usize) -> Duration {
        match self {
            Slow::Spread if index % 9 == 4 => SLOW,
            Slow::AtTheHead if index < 20 => SLOW,
            Slow::Mixed => Duration::from_millis(50 + (index as u64 * 379) % 951),
            _ => FAST,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Slow::Spread => "every 9th request taking 1 s, the others 100 ms",
            Slow::AtTheHead => "the first 20 requests taking 1 s, the others 100 ms",
            Slow::Mixed => "requests taking 50 ms to 1 s",
        }
    }
}

fn sku(index: usize) -> String {
    format!("SKU-{index:04}")
}

fn index_of(sku: &str) -> usize {
    sku.strip_prefix("SKU-")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the pricing API got a request for an unknown SKU {sku:?}"))
}

/// The fake price of a SKU. Unique per SKU, so a result in the wrong place shows.
fn price(index: usize) -> Cents {
    1_000 + 7 * index as Cents
}

/// A fake pricing API that records how many requests are in flight at once.
struct PricingApi {
    slow: Slow,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    requests: AtomicUsize,
}

/// Counts one request as in flight until dropped (answered, or cancelled by the caller).
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PricingApi {
    fn new(slow: Slow) -> Self {
        PricingApi {
            slow,
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
        }
    }

    async fn price(&self, sku: String) -> Cents {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let _in_flight = InFlight(&self.in_flight);

        let index = index_of(&sku);
        sleep(self.slow.latency(index)).await;
        price(index)
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
    requests: usize,
    elapsed: Duration,
}

/// Fetches the prices of `skus` SKUs with a quota of `quota`, on a fresh fake API.
async fn run(skus: usize, quota: usize, slow: Slow) -> Run {
    let api = Arc::new(PricingApi::new(slow));
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
        peak: api.peak.load(Ordering::SeqCst),
        requests: api.requests.load(Ordering::SeqCst),
        elapsed: start.elapsed(),
    }
}

#[tokio::test(start_paused = true)]
async fn never_more_than_max_in_flight_requests() {
    for (skus, quota, slow) in [
        (SKUS, QUOTA, Slow::Spread),
        (SKUS, 3, Slow::Spread),
        (SKUS, 7, Slow::Mixed),
        (25, 1, Slow::Mixed),
        (SKUS, 16, Slow::AtTheHead),
    ] {
        let Run { peak, .. } = run(skus, quota, slow).await;
        assert!(
            peak <= quota,
            "{peak} requests to the pricing API were in flight at once, but max_in_flight is \
             {quota}: the quota was exceeded ({skus} SKUs, {}; a peak of {skus} means every \
             request was sent at once)",
            slow.describe()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn keeps_max_in_flight_requests_going() {
    for (quota, slow) in [(QUOTA, Slow::Spread), (3, Slow::Spread), (7, Slow::Mixed)] {
        let Run { peak, .. } = run(SKUS, quota, slow).await;
        assert!(
            peak >= quota,
            "at most {peak} request(s) were ever in flight at once, although max_in_flight \
             allows {quota} ({SKUS} SKUs, {}): the requests ran one after another (or in too few \
             lanes), and the refresh takes far longer than the quota requires",
            slow.describe()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn finishes_as_soon_as_a_sliding_window_would() {
    // Measured under paused time with max_in_flight = 10, for the two patterns below. A sliding
    // window with results in completion order: 4.6 s and 3.8 s. In input order, where a slow
    // request at the head holds back the window: 11.1 s and 3.8 s. Batches of 10: 20 s and 3.8 s.
    // Ten lanes of 20 neighbouring SKUs each: 4.7 s and 20 s. One at a time: 39.8 s and 38 s.
    for (slow, limit) in [
        (Slow::Spread, Duration::from_secs(15)),
        (Slow::AtTheHead, Duration::from_secs(6)),
    ] {
        let Run { elapsed, .. } = run(SKUS, QUOTA, slow).await;
        assert!(
            elapsed <= limit,
            "{SKUS} requests ({}) with max_in_flight = {QUOTA} took {elapsed:?} of virtual time; \
             a sliding window, which starts the next request as soon as one finishes, needs at \
             most {limit:?}. Batches of {QUOTA} wait for their slowest request while the other \
             slots sit idle; lanes fixed in advance leave the lanes with the slow requests \
             working while the others idle",
            slow.describe()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn prices_come_back_in_sku_order() {
    for (quota, slow) in [
        (QUOTA, Slow::Spread),
        (QUOTA, Slow::Mixed),
        (3, Slow::AtTheHead),
    ] {
        let Run { prices, .. } = run(SKUS, quota, slow).await;

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
                 {from}, not of {} ({}), with max_in_flight = {quota} and {}: the prices came \
                 back in the order the requests finished, not in the order of the SKUs",
                sku(i),
                price(i),
                slow.describe()
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn fewer_skus_than_the_quota_all_go_at_once() {
    let empty = run(0, QUOTA, Slow::Spread).await;
    assert!(
        empty.prices.is_empty() && empty.requests == 0,
        "with no SKUs at all, fetch_prices must return no prices and send no request; it \
         returned {:?} after {} request(s)",
        empty.prices,
        empty.requests
    );

    // Three SKUs, all slow, with room for ten: nothing to wait for.
    let few = run(3, QUOTA, Slow::AtTheHead).await;
    assert_eq!(
        few.prices,
        vec![price(0), price(1), price(2)],
        "fetch_prices must return the 3 prices, in SKU order"
    );
    assert!(
        few.requests == 3 && few.peak == 3 && few.elapsed <= SLOW,
        "3 SKUs of 1 s each with max_in_flight = {QUOTA} should go out together and take 1 s; \
         the run sent {} request(s), at most {} at once, and took {:?} of virtual time",
        few.requests,
        few.peak,
        few.elapsed
    );
}
