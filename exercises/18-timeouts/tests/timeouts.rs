//! Every test runs on a paused clock (`start_paused = true`): a fake pricing service "takes" its
//! latency in virtual time, so the tests run in microseconds and can measure to the millisecond
//! how long a caller waited. A service that never answers costs no real time either: when every
//! task is idle, the clock jumps straight to the next timer.

use std::time::Duration;

use timeouts::{PricingService, Quote, QuoteClient, QuoteError};
use tokio::time::{sleep, timeout, Instant};

const SKU: &str = "tokio-mug";

/// How late after its deadline a timed-out call may return (timers have millisecond resolution).
const SLACK: Duration = Duration::from_millis(50);

/// How the fake pricing service behaves.
#[derive(Clone, Copy)]
enum Peer {
    /// Answers with a price after this long.
    AnswersAfter(Duration),
    /// Answers with this error message after this long.
    RejectsAfter(Duration, &'static str),
    /// Takes the request and never answers: a hung process, a dropped packet, a full queue.
    NeverAnswers,
}

fn price(sku: &str) -> Quote {
    Quote {
        sku: sku.to_string(),
        price_cents: 1_250,
    }
}

struct FakePricing(Peer);

impl PricingService for FakePricing {
    async fn fetch_quote(&self, sku: &str) -> Result<Quote, String> {
        match self.0 {
            Peer::AnswersAfter(latency) => {
                sleep(latency).await;
                Ok(price(sku))
            }
            Peer::RejectsAfter(latency, reason) => {
                sleep(latency).await;
                Err(reason.to_string())
            }
            Peer::NeverAnswers => std::future::pending().await,
        }
    }
}

/// Asks a client configured with `configured` for a quote from a service that behaves like
/// `peer`, for at most 60 s of virtual time. Returns the result and how long the caller waited.
async fn ask(peer: Peer, configured: Duration) -> (Result<Quote, QuoteError>, Duration) {
    let client = QuoteClient::new(FakePricing(peer), configured);
    let start = Instant::now();
    let result = timeout(Duration::from_secs(60), client.quote(SKU))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "quote() was still waiting after 60 s of virtual time, although the client is \
                 configured with a {configured:?} timeout: nothing bounds the wait for the \
                 pricing service's answer, so when the service never answers, the caller \
                 waits forever with it"
            )
        });
    (result, start.elapsed())
}

/// Checks that `result` is a timeout reported at the `configured` deadline, for a service that
/// answers after `latency` (`None`: never).
fn assert_timed_out_at_the_deadline(
    result: Result<Quote, QuoteError>,
    elapsed: Duration,
    configured: Duration,
    latency: Option<Duration>,
) {
    let what = match latency {
        Some(latency) => format!("takes {latency:?} to answer"),
        None => "never answers".to_string(),
    };
    assert!(
        elapsed <= configured + SLACK,
        "quote() returned {result:?} only after {elapsed:?} of virtual time, although the \
         configured timeout is {configured:?}, for a pricing service that {what}: {}",
        match latency {
            Some(latency) if elapsed >= latency => {
                "the caller waited for the slow answer anyway. A deadline has to cut the wait \
                 short while the request is still pending, not be checked once it is over"
            }
            _ => "it gave up at some later deadline, not at the configured one",
        }
    );
    match result {
        Err(QuoteError::TimedOut) => {}
        Ok(quote) => panic!(
            "quote() returned Ok({quote:?}) for a pricing service that {what}: a timeout must be \
             an error (QuoteError::TimedOut), not a made-up quote, or checkout sells at a price \
             nobody gave it"
        ),
        Err(other) => panic!(
            "quote() returned Err({other:?}) for a pricing service that {what}: report a \
             timeout as QuoteError::TimedOut, so that callers can tell it from a rejection \
             (retry a timeout, give up on a rejection)"
        ),
    }
    assert!(
        elapsed >= configured,
        "quote() gave up after {elapsed:?} of virtual time, before its configured timeout of \
         {configured:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_prompt_answer_is_returned() {
    let latency = Duration::from_millis(100);

    let (result, elapsed) = ask(Peer::AnswersAfter(latency), Duration::from_secs(2)).await;

    let quote = result.unwrap_or_else(|err| {
        panic!("quote() failed with {err:?} although the pricing service answered in {latency:?}")
    });
    assert_eq!(
        quote,
        price(SKU),
        "quote() did not return what the service answered"
    );
    assert!(
        elapsed <= latency + SLACK,
        "the pricing service answered after {latency:?}, yet quote() returned only after \
         {elapsed:?} of virtual time: return as soon as the answer is there, do not wait out \
         the timer"
    );
}

#[tokio::test(start_paused = true)]
async fn an_answer_just_inside_the_deadline_is_accepted() {
    let configured = Duration::from_secs(2);
    let latency = Duration::from_millis(1_900);

    let (result, _) = ask(Peer::AnswersAfter(latency), configured).await;

    let quote = result.unwrap_or_else(|err| {
        panic!(
            "quote() failed with {err:?} although the pricing service answered after \
             {latency:?}, inside the configured timeout of {configured:?}: the deadline must \
             be the configured one, not a shorter one"
        )
    });
    assert_eq!(
        quote,
        price(SKU),
        "quote() did not return what the service answered"
    );
}

#[tokio::test(start_paused = true)]
async fn a_rejection_is_reported_as_a_rejection() {
    let (result, _) = ask(
        Peer::RejectsAfter(Duration::from_millis(100), "unknown SKU"),
        Duration::from_secs(2),
    )
    .await;

    assert_eq!(
        result,
        Err(QuoteError::Rejected("unknown SKU".to_string())),
        "the pricing service answered \"unknown SKU\" after 100 ms: quote() must report that \
         as QuoteError::Rejected with the service's message, not as a timeout or a quote"
    );
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_never_answers_times_out() {
    let configured = Duration::from_secs(2);

    let (result, elapsed) = ask(Peer::NeverAnswers, configured).await;

    assert_timed_out_at_the_deadline(result, elapsed, configured, None);
}

#[tokio::test(start_paused = true)]
async fn a_slow_answer_is_cut_off_at_the_deadline() {
    let configured = Duration::from_millis(750);

    let latency = Duration::from_secs(3);

    let (result, elapsed) = ask(Peer::AnswersAfter(latency), configured).await;

    assert_timed_out_at_the_deadline(result, elapsed, configured, Some(latency));
}
