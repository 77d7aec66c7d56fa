//! Every test runs on a paused clock (`start_paused = true`): a fake pricing service "takes" its
//! latency in virtual time, so the tests run in microseconds and can measure to the millisecond
//! how long a caller waited. A service that never answers costs no real time either: when every
//! task is idle, the clock jumps straight to the next timer.
//!
//! The fake service counts the requests in flight: a request is in flight from the moment it is
//! sent until it is answered or abandoned (its future dropped, which cancels it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use timeouts::{PricingService, Quote, QuoteClient, QuoteError};
use tokio::time::{sleep, timeout, Instant};

/// The article asked for, unless a test needs several.
const SKU: &str = "tokio-mug";

/// How late after its deadline a timed-out call may return (timers have millisecond resolution).
const SLACK: Duration = Duration::from_millis(50);

/// Longer than any test's calls take, whatever the configured timeout.
const PATIENCE: Duration = Duration::from_secs(120);

/// How the fake pricing service answers a request.
#[derive(Clone, Copy, Debug)]
enum Peer {
    /// Answers with a price after this long.
    AnswersAfter(Duration),
    /// Answers with this error message after this long.
    RejectsAfter(Duration, &'static str),
    /// Takes the request and never answers: a hung process, a dropped packet, a full queue.
    NeverAnswers,
}

use Peer::{AnswersAfter, NeverAnswers, RejectsAfter};

impl Peer {
    fn describe(self) -> String {
        match self {
            AnswersAfter(latency) => format!("answers after {latency:?}"),
            RejectsAfter(latency, reason) => {
                format!("rejects the request ({reason:?}) after {latency:?}")
            }
            NeverAnswers => "never answers".to_string(),
        }
    }
}

fn price(sku: &str) -> Quote {
    Quote {
        sku: sku.to_string(),
        price_cents: 1_250,
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A request in flight; dropping it (answered, or abandoned) takes it off the count.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(count: &Arc<AtomicUsize>) -> InFlight {
        count.fetch_add(1, Ordering::SeqCst);
        InFlight(Arc::clone(count))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A fake pricing service: each article answers as its `Peer` says (`SKU` unless a test uses
/// several), and it counts the requests in flight.
#[derive(Clone)]
struct FakePricing {
    peers: Arc<HashMap<String, Peer>>,
    in_flight: Arc<AtomicUsize>,
}

impl FakePricing {
    fn new(peers: &[(&str, Peer)]) -> FakePricing {
        FakePricing {
            peers: Arc::new(
                peers
                    .iter()
                    .map(|(sku, peer)| (sku.to_string(), *peer))
                    .collect(),
            ),
            in_flight: Arc::default(),
        }
    }

    fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }
}

impl PricingService for FakePricing {
    async fn fetch_quote(&self, sku: &str) -> Result<Quote, String> {
        let _request = InFlight::new(&self.in_flight);
        match self.peers.get(sku).copied().unwrap_or(NeverAnswers) {
            AnswersAfter(latency) => {
                sleep(latency).await;
                Ok(price(sku))
            }
            RejectsAfter(latency, reason) => {
                sleep(latency).await;
                Err(reason.to_string())
            }
            NeverAnswers => std::future::pending().await,
        }
    }
}

/// Asks `client` (configured with `configured`) for a quote of `sku`, for at most `PATIENCE` of
/// virtual time. Returns the result and how long the caller waited.
async fn ask(
    client: &QuoteClient<FakePricing>,
    sku: &str,
    configured: Duration,
) -> (Result<Quote, QuoteError>, Duration) {
    let start = Instant::now();
    let result = timeout(PATIENCE, client.quote(sku))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "quote() was still waiting after {PATIENCE:?} of virtual time, although the \
                 client is configured with a {configured:?} timeout: nothing bounds the wait for \
                 the pricing service's answer, so when the service never answers, the caller \
                 waits forever with it"
            )
        });
    (result, start.elapsed())
}

/// A fresh client configured with `configured`, for a service that answers `SKU` like `peer`;
/// asks it once.
async fn ask_once(peer: Peer, configured: Duration) -> (Result<Quote, QuoteError>, Duration) {
    let client = QuoteClient::new(FakePricing::new(&[(SKU, peer)]), configured);
    ask(&client, SKU, configured).await
}

/// Checks that `result` is a timeout reported at the `configured` deadline, for a service that
/// behaves like `peer`. `situation` says what came before, if anything.
fn assert_timed_out_at_the_deadline(
    result: &Result<Quote, QuoteError>,
    elapsed: Duration,
    configured: Duration,
    peer: Peer,
    situation: &str,
) {
    let what = peer.describe();
    assert!(
        elapsed <= configured + SLACK,
        "{situation}quote() returned {result:?} only after {elapsed:?} of virtual time, although \
         the configured timeout is {configured:?}, for a pricing service that {what}: {}",
        match peer {
            AnswersAfter(latency) if elapsed >= latency => {
                "the caller waited for the slow answer anyway. A deadline has to cut the wait \
                 short while the request is still pending, not be checked once it is over"
            }
            _ => "it gave up at some later deadline, not at the configured one",
        }
    );
    match result {
        Err(QuoteError::TimedOut) => {}
        Ok(quote) => panic!(
            "{situation}quote() returned Ok({quote:?}) for a pricing service that {what}: a \
             timeout must be an error (QuoteError::TimedOut), not a made-up quote, or checkout \
             sells at a price nobody gave it"
        ),
        Err(other) => panic!(
            "{situation}quote() returned Err({other:?}) for a pricing service that {what}: \
             report a timeout as QuoteError::TimedOut, so that callers can tell it from a \
             rejection (retry a timeout, give up on a rejection)"
        ),
    }
    assert!(
        elapsed >= configured,
        "{situation}quote() gave up after {elapsed:?} of virtual time, before its configured \
         timeout of {configured:?}, for a pricing service that {what}: the deadline is the \
         configured timeout, counted from the start of this call"
    );
}

/// Checks that `result` is the quote of `sku`, returned as soon as it arrived.
fn assert_answered(
    result: &Result<Quote, QuoteError>,
    elapsed: Duration,
    sku: &str,
    configured: Duration,
    latency: Duration,
    situation: &str,
) {
    match result {
        Ok(quote) => assert_eq!(
            quote,
            &price(sku),
            "quote() did not return what the service answered"
        ),
        Err(err) => panic!(
            "{situation}quote() failed with {err:?} although the pricing service answered after \
             {latency:?}, inside the configured timeout of {configured:?}{}",
            if latency * 2 > configured {
                ": the deadline is the configured timeout, counted from the start of this call"
            } else {
                ""
            }
        ),
    }
    assert!(
        elapsed <= latency + SLACK,
        "{situation}the pricing service answered after {latency:?}, yet quote() returned only \
         after {elapsed:?} of virtual time: return as soon as the answer is there, do not wait \
         out the timer"
    );
}

#[tokio::test(start_paused = true)]
async fn a_prompt_answer_is_returned() {
    for (configured, latency) in [(secs(2), ms(100)), (ms(50), ms(5)), (secs(30), secs(1))] {
        let (result, elapsed) = ask_once(AnswersAfter(latency), configured).await;
        assert_answered(&result, elapsed, SKU, configured, latency, "");
    }
}

#[tokio::test(start_paused = true)]
async fn an_answer_inside_the_deadline_is_accepted() {
    for (configured, latency) in [
        (secs(2), ms(1_900)),
        (ms(750), ms(740)),
        (ms(20), ms(15)),
        (secs(30), secs(29)),
    ] {
        let (result, elapsed) = ask_once(AnswersAfter(latency), configured).await;
        assert_answered(&result, elapsed, SKU, configured, latency, "");
    }
}

#[tokio::test(start_paused = true)]
async fn a_rejection_is_reported_as_a_rejection() {
    for latency in [ms(100), ms(1_900)] {
        let (result, _) = ask_once(RejectsAfter(latency, "unknown SKU"), secs(2)).await;
        assert_eq!(
            result,
            Err(QuoteError::Rejected("unknown SKU".to_string())),
            "the pricing service answered \"unknown SKU\" after {latency:?} (timeout 2 s): \
             quote() must report that as QuoteError::Rejected with the service's message, not \
             as a timeout or a quote"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_never_answers_times_out() {
    for configured in [secs(2), ms(20), ms(750), secs(30)] {
        let (result, elapsed) = ask_once(NeverAnswers, configured).await;
        assert_timed_out_at_the_deadline(&result, elapsed, configured, NeverAnswers, "");
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_answer_is_cut_off_at_the_deadline() {
    for (configured, latency) in [
        (ms(750), secs(3)),
        (secs(2), ms(2_500)),
        (secs(30), secs(45)),
    ] {
        let peer = AnswersAfter(latency);
        let (result, elapsed) = ask_once(peer, configured).await;
        assert_timed_out_at_the_deadline(&result, elapsed, configured, peer, "");
    }
}

#[tokio::test(start_paused = true)]
async fn every_call_gets_the_full_timeout_from_its_own_start() {
    let configured = secs(2);
    // One client for the whole life of the checkout service, as in production: calls come one
    // after another, with idle time in between.
    let calls = [
        (secs(0), "mug", AnswersAfter(ms(100))),
        (secs(10), "cap", AnswersAfter(ms(1_900))),
        (secs(1), "tee", NeverAnswers),
        (secs(60), "pin", AnswersAfter(secs(3))),
        (ms(500), "bag", AnswersAfter(ms(1_500))),
        (secs(0), "pen", RejectsAfter(ms(1_800), "unknown SKU")),
    ];
    let peers: Vec<(&str, Peer)> = calls.iter().map(|&(_, sku, peer)| (sku, peer)).collect();
    let client = QuoteClient::new(FakePricing::new(&peers), configured);
    let started = Instant::now();

    for (n, (idle, sku, peer)) in calls.into_iter().enumerate() {
        sleep(idle).await;
        let situation = format!(
            "the client was built {:?} ago and had made {n} call(s) before this one; ",
            started.elapsed()
        );
        let (result, elapsed) = ask(&client, sku, configured).await;
        match peer {
            AnswersAfter(latency) if latency < configured => {
                assert_answered(&result, elapsed, sku, configured, latency, &situation)
            }
            RejectsAfter(..) => assert!(
                matches!(result, Err(QuoteError::Rejected(_))),
                "{situation}the pricing service rejected {sku:?} after 1.8 s (timeout 2 s), yet \
                 quote() returned {result:?}: the timeout must count from the start of this \
                 call"
            ),
            _ => assert_timed_out_at_the_deadline(&result, elapsed, configured, peer, &situation),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn concurrent_calls_each_have_their_own_deadline() {
    let configured = secs(2);
    let service = FakePricing::new(&[
        ("mug", NeverAnswers),
        ("cap", NeverAnswers),
        ("tee", AnswersAfter(ms(1_900))),
    ]);
    let client = QuoteClient::new(service, configured);
    let start = Instant::now();
    // Three checkouts share the client, and their calls overlap: one starts at 0, one at 1 s,
    // one at 1.5 s. Each returns when it ends, measured from the test's start.
    let call = |sku: &'static str, at: Duration| {
        let client = &client;
        async move {
            sleep(at).await;
            let result = client.quote(sku).await;
            (sku, at, result, start.elapsed())
        }
    };
    let calls = timeout(
        PATIENCE,
        futures::future::join3(
            call("mug", Duration::ZERO),
            call("cap", secs(1)),
            call("tee", ms(1_500)),
        ),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "three overlapping calls to quote() were still waiting after {PATIENCE:?} of \
             virtual time, although the client is configured with a {configured:?} timeout"
        )
    });

    for (sku, at, result, ended) in [calls.0, calls.1, calls.2] {
        let situation = format!(
            "three calls overlapped, started at 0 s, 1 s and 1.5 s; the one started at {at:?} \
             ended at {ended:?}: "
        );
        match sku {
            "tee" => assert_answered(&result, ended - at, sku, configured, ms(1_900), &situation),
            _ => assert_timed_out_at_the_deadline(
                &result,
                ended - at,
                configured,
                NeverAnswers,
                &situation,
            ),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_request_is_cancelled() {
    for peer in [NeverAnswers, AnswersAfter(secs(3))] {
        let configured = ms(750);
        let service = FakePricing::new(&[(SKU, peer)]);
        let client = QuoteClient::new(service.clone(), configured);

        let (result, elapsed) = ask(&client, SKU, configured).await;
        assert_timed_out_at_the_deadline(&result, elapsed, configured, peer, "");

        let still = service.in_flight();
        assert_eq!(
            still,
            0,
            "quote() returned TimedOut after {elapsed:?} for a pricing service that {}, but its \
             request was still in flight: the caller gave up on it and nobody will ever read \
             the answer, yet it goes on holding a connection to the service. When the deadline \
             passes, the request must be dropped (cancelled), not left running",
            peer.describe(),
        );
    }
}
