//! Every test runs on a paused clock with a fake document store that answers each request as its
//! script says: a status, or never (so the request times out). Timeouts and backoff pauses cost
//! virtual time only.
//!
//! The tests use only what every version of the library offers: `fetch`, `fetch_with_retry`,
//! `is_retryable`, and the errors' `Display` (`{:#}`) and `Debug`. They never look at the words of
//! an error: they look at what the retrying code and `is_retryable` decide.

use std::collections::VecDeque;
use std::future::pending;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::{timeout, Instant};
use typed_errors::{
    fetch, fetch_with_retry, is_retryable, Response, Transport, MAX_ATTEMPTS, REQUEST_TIMEOUT,
};

/// Far longer than `fetch_with_retry` can take with every attempt timing out.
const PATIENCE: Duration = Duration::from_secs(60);

/// The body of every document the fake store has.
const BODY: &str = "# Runbook\n\n1. Check the dashboards.\n";

/// How the fake store answers one request.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// Never answers: the request times out.
    Silence,
    /// Answers with this status (and `BODY` for a 200).
    Status(u16),
}

use Answer::{Silence, Status};

/// A fake document store: answers the requests in the order its script says, and records every
/// request it gets.
struct FakeStore {
    script: Mutex<VecDeque<Answer>>,
    requests: Mutex<Vec<String>>,
}

impl FakeStore {
    fn new(script: &[Answer]) -> FakeStore {
        FakeStore {
            script: Mutex::new(script.iter().copied().collect()),
            requests: Mutex::default(),
        }
    }

    fn requests(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

impl Transport for FakeStore {
    async fn get(&self, name: &str) -> Response {
        self.requests.lock().unwrap().push(name.to_string());
        let answer =
            self.script.lock().unwrap().pop_front().unwrap_or_else(|| {
                panic!("the store was asked for {name:?} more often than expected")
            });
        match answer {
            Silence => pending().await,
            Status(status) => Response {
                status,
                body: if status == 200 {
                    BODY.to_string()
                } else {
                    String::new()
                },
            },
        }
    }
}

/// Runs `fetch_with_retry` for at most `PATIENCE` of virtual time. Returns its result (an error
/// printed with `{:#}`) and how much virtual time it took.
async fn fetch_retrying(store: &FakeStore, name: &str) -> (Result<String, String>, Duration) {
    let start = Instant::now();
    let result = timeout(PATIENCE, fetch_with_retry(store, name))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "fetch_with_retry({name:?}) did not return within 60 s of virtual time, \
                 although it may make at most {MAX_ATTEMPTS} attempts of {REQUEST_TIMEOUT:?} \
                 each: it is stuck, or retrying forever"
            )
        });
    (result.map_err(|err| format!("{err:#}")), start.elapsed())
}

/// "1 attempt", "2 attempts".
fn attempts(n: usize) -> String {
    format!("{n} attempt{}", if n == 1 { "" } else { "s" })
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_retried() {
    // A runbook about 404s. Its name is no business of the retry decision.
    let name = "runbooks/404 not found.md";
    let mut script = vec![Silence; MAX_ATTEMPTS - 1];
    script.push(Status(200));
    let store = FakeStore::new(&script);

    let (result, _) = fetch_retrying(&store, name).await;

    let requests = store.requests();
    match result {
        Ok(body) => assert_eq!(body, BODY, "fetch_with_retry returned the wrong body"),
        Err(chain) => panic!(
            "the store did not answer the first {} requests for {name:?} within \
             {REQUEST_TIMEOUT:?}, and would have answered the next one, but fetch_with_retry \
             gave up after {} with {chain:?}: it did not take the timeout for \
             a retryable error",
            MAX_ATTEMPTS - 1,
            attempts(requests),
        ),
    }
    assert_eq!(
        requests, MAX_ATTEMPTS,
        "the document was fetched, but the store got {requests} requests instead of \
         {MAX_ATTEMPTS}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unavailable_store_is_retried() {
    let name = "guides/onboarding.md";
    let mut script = vec![Status(503); MAX_ATTEMPTS - 1];
    script.push(Status(200));
    let store = FakeStore::new(&script);

    let (result, _) = fetch_retrying(&store, name).await;

    let requests = store.requests();
    if let Err(chain) = result {
        panic!(
            "the store answered 503 to the first {} requests for {name:?}, and would have \
             answered the next one, but fetch_with_retry gave up after {} \
             with {chain:?}: an overloaded store is worth another try",
            MAX_ATTEMPTS - 1,
            attempts(requests),
        );
    }
    assert_eq!(
        requests, MAX_ATTEMPTS,
        "the document was fetched, but the store got {requests} requests instead of \
         {MAX_ATTEMPTS}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_missing_document_is_not_retried() {
    // Runbooks are named after the symptom they are for; any document can be missing.
    let names = [
        "guides/onboarding.md",
        "runbooks/upstream timed out.md",
        "runbooks/request timeout.md",
        "runbooks/503 service unavailable.md",
    ];

    for name in names {
        let store = FakeStore::new(&[Status(404); MAX_ATTEMPTS]);

        let (result, elapsed) = fetch_retrying(&store, name).await;

        let requests = store.requests();
        assert!(
            result.is_err(),
            "the store answered 404 for {name:?}, yet fetch_with_retry returned Ok"
        );
        assert_eq!(
            requests,
            1,
            "the store answered 404 Not Found for {name:?}, yet fetch_with_retry asked \
             {requests} times and made the reader wait {elapsed:?} for the error page: a \
             missing document does not appear on a second try. The error was {:?}. A \
             decision taken by reading that message can be fooled: it holds the document's \
             name, which can say anything",
            result.unwrap_err()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_caller_can_tell_a_timeout_from_a_not_found() {
    let name = "guides/onboarding.md";
    let timed_out = fetch(&FakeStore::new(&[Silence]), name)
        .await
        .expect_err("the store never answered, yet fetch returned Ok");
    let not_found = fetch(&FakeStore::new(&[Status(404)]), name)
        .await
        .expect_err("the store answered 404, yet fetch returned Ok");

    let (retry_timeout, retry_not_found) = (is_retryable(&timed_out), is_retryable(&not_found));
    assert!(
        retry_timeout != retry_not_found,
        "a timeout ({:?}) and a not-found ({:?}) came back as the same kind of error \
         (is_retryable says {retry_timeout} for both): the caller cannot decide to retry the one \
         and give up on the other",
        format!("{timed_out:#}"),
        format!("{not_found:#}"),
    );
    assert!(
        retry_timeout && !retry_not_found,
        "is_retryable has it the wrong way round: it would retry a not-found ({:?}) and give \
         up on a timeout ({:?})",
        format!("{not_found:#}"),
        format!("{timed_out:#}"),
    );
}
