//! Every test runs on a paused clock with a fake document store that answers each request as its
//! script says: a status and a body, or never (so the request times out). Timeouts and backoff
//! pauses cost virtual time only.
//!
//! The tests use only what every version of the library offers: `fetch`, `fetch_with_retry`,
//! `is_retryable`, and the errors' `Display` (`{:#}`) and `Debug`. They never look for words in
//! an error: they look at what the retrying code and `is_retryable` decide. And they feed the
//! store data that says anything: document names and error bodies made of the very text of the
//! client's own error messages, as a document's name or a server's reply may.

use std::collections::VecDeque;
use std::future::pending;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::timeout;
use typed_errors::{
    fetch, fetch_with_retry, is_retryable, Response, Transport, MAX_ATTEMPTS, REQUEST_TIMEOUT,
};

/// Far longer than `fetch_with_retry` can take with every attempt timing out.
const PATIENCE: Duration = Duration::from_secs(60);

/// The body of every document the fake store has.
const BODY: &str = "# Runbook\n\n1. Check the dashboards.\n";

/// A document name with nothing special in it.
const PLAIN: &str = "guides/onboarding.md";

/// How the fake store answers one request.
#[derive(Debug, Clone)]
enum Answer {
    /// Never answers: the request times out.
    Silence,
    /// Answers with this status and this body.
    Status(u16, String),
}

use Answer::Silence;

/// A 200 with the document.
fn ok() -> Answer {
    Answer::Status(200, BODY.to_string())
}

/// An error status with the store's explanation as the body.
fn status(code: u16, body: &str) -> Answer {
    Answer::Status(code, body.to_string())
}

/// A fake document store: answers the requests in the order its script says, and counts them.
struct FakeStore {
    script: Mutex<VecDeque<Answer>>,
    requests: Mutex<usize>,
}

impl FakeStore {
    fn new(script: &[Answer]) -> FakeStore {
        FakeStore {
            script: Mutex::new(script.iter().cloned().collect()),
            requests: Mutex::new(0),
        }
    }

    fn requests(&self) -> usize {
        *self.requests.lock().unwrap()
    }
}

impl Transport for FakeStore {
    async fn get(&self, _name: &str) -> Response {
        *self.requests.lock().unwrap() += 1;
        // Past the end of its script, the store stops answering: one request too many then
        // shows up as a retry that times out, not as a panic inside the library.
        let answer = self.script.lock().unwrap().pop_front().unwrap_or(Silence);
        match answer {
            Silence => pending().await,
            Answer::Status(status, body) => Response { status, body },
        }
    }
}

/// What an answer is, for messages.
fn describe(answer: &Answer) -> String {
    match answer {
        Silence => "no answer".to_string(),
        Answer::Status(200, _) => "200 OK".to_string(),
        Answer::Status(code, body) if body.is_empty() => format!("{code}"),
        Answer::Status(code, body) => format!("{code} with the body {body:?}"),
    }
}

/// What kind of failure an answer is, for messages.
fn kind(answer: &Answer) -> String {
    match answer {
        Silence => "a timeout".to_string(),
        Answer::Status(code, _) => format!("a {code}"),
    }
}

fn describe_script(script: &[Answer]) -> String {
    script
        .iter()
        .map(describe)
        .collect::<Vec<_>>()
        .join(", then ")
}

/// The whole text of an error, as people see it.
fn text(err: &impl std::fmt::Display) -> String {
    format!("{err:#}")
}

/// The text of the client's own error messages, one of each kind, for a plain document. The
/// tests use them as data: as a document's name, or as the body of a store's error.
struct Messages {
    timeout: String,
    unavailable: String,
    not_found: String,
    server_error: String,
}

async fn messages() -> Messages {
    async fn one(answer: Answer) -> String {
        let err = fetch(&FakeStore::new(std::slice::from_ref(&answer)), PLAIN)
            .await
            .err()
            .unwrap_or_else(|| {
                panic!(
                    "the store answered {}, yet fetch returned Ok",
                    describe(&answer)
                )
            });
        text(&err)
    }
    Messages {
        timeout: one(Silence).await,
        unavailable: one(status(503, "overloaded, try again later")).await,
        not_found: one(status(404, "")).await,
        server_error: one(status(500, "database error")).await,
    }
}

/// Runs `fetch_with_retry` against a store that answers as `script` says, for at most
/// `PATIENCE` of virtual time. Gives its result and how many requests the store got. (A macro,
/// not a function: the error type is the library's to choose, and this file never names it.)
macro_rules! fetch_retrying {
    ($name:expr, $script:expr) => {{
        let name: &str = $name;
        let store = FakeStore::new($script);
        let result = timeout(PATIENCE, fetch_with_retry(&store, name))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "fetch_with_retry({name:?}) did not return within 60 s of virtual time, \
                     although it may make at most {MAX_ATTEMPTS} attempts of \
                     {REQUEST_TIMEOUT:?} each: it is stuck, or retrying forever"
                )
            });
        (result, store.requests())
    }};
}

/// "1 request", "2 requests".
fn requests(n: usize) -> String {
    format!("{n} request{}", if n == 1 { "" } else { "s" })
}

/// Checks that a document whose first answers are `failures` (each worth retrying), then a 200,
/// comes back after exactly one request per answer.
async fn assert_retried_until_ok(name: &str, failures: &[Answer]) {
    let mut script = failures.to_vec();
    script.push(ok());
    let (result, asked) = fetch_retrying!(name, &script);
    let expected = script.len();
    match result {
        Ok(body) => assert_eq!(body, BODY, "fetch_with_retry returned the wrong body"),
        Err(err) => panic!(
            "the store answered a request for {name:?} with {}, and would have sent the \
             document next, but fetch_with_retry gave up after {} with {:?}: it did not take \
             {} for an error worth retrying",
            describe_script(failures),
            requests(asked),
            text(&err),
            failures
                .get(asked.saturating_sub(1))
                .map(kind)
                .unwrap_or_default(),
        ),
    }
    assert_eq!(
        asked,
        expected,
        "the document {name:?} was fetched, but the store got {} instead of {expected}",
        requests(asked),
    );
}

/// Checks that an answer not worth retrying ends `fetch_with_retry` after one request.
async fn assert_not_retried(name: &str, answer: Answer) {
    let script = vec![answer.clone(); MAX_ATTEMPTS];
    let (result, asked) = fetch_retrying!(name, &script);
    let err = match result {
        Ok(body) => panic!(
            "the store answered a request for {name:?} with {}, yet fetch_with_retry returned \
             Ok({body:?})",
            describe(&answer)
        ),
        Err(err) => text(&err),
    };
    assert_eq!(
        asked,
        1,
        "the store answered a request for {name:?} with {}, yet fetch_with_retry sent {} and \
         made the reader wait for the error page: that failure is no different on a second \
         try. The error was {err:?}. A decision taken by reading that message can be fooled: \
         it carries a document's name and the store's reply, which can say anything",
        describe(&answer),
        requests(asked),
    );
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_retried() {
    let messages = messages().await;
    // Names that read like other failures are no business of the retry decision.
    let names = [
        PLAIN,
        "runbooks/404 not found.md",
        &messages.not_found,
        &messages.server_error,
    ];
    for name in names {
        assert_retried_until_ok(name, &vec![Silence; MAX_ATTEMPTS - 1]).await;
    }
}

#[tokio::test(start_paused = true)]
async fn an_unavailable_store_is_retried() {
    let messages = messages().await;
    for (name, body) in [
        (PLAIN, "overloaded, try again later"),
        ("runbooks/not found.md", "overloaded"),
        (PLAIN, messages.not_found.as_str()),
        (messages.server_error.as_str(), "busy"),
    ] {
        assert_retried_until_ok(name, &vec![status(503, body); MAX_ATTEMPTS - 1]).await;
    }
}

#[tokio::test(start_paused = true)]
async fn retries_end_at_a_final_error_or_after_max_attempts() {
    // Timeouts and 503s mixed: each is worth retrying, up to MAX_ATTEMPTS in all.
    let mixed = [Silence, status(503, "overloaded")];
    assert_retried_until_ok(PLAIN, &mixed[..MAX_ATTEMPTS - 1]).await;

    // Every attempt times out: give up after MAX_ATTEMPTS, and say it was a timeout.
    let (result, asked) = fetch_retrying!(PLAIN, &vec![Silence; MAX_ATTEMPTS + 2]);
    assert_eq!(
        asked,
        MAX_ATTEMPTS,
        "the store never answered {PLAIN:?}, and fetch_with_retry sent {} instead of \
         MAX_ATTEMPTS ({MAX_ATTEMPTS})",
        requests(asked),
    );
    match result {
        Ok(body) => panic!("the store never answered, yet fetch_with_retry returned Ok({body:?})"),
        Err(err) => assert!(
            is_retryable(&err),
            "the store never answered {PLAIN:?}, and fetch_with_retry gave up with an error that \
             is_retryable says is not worth retrying: {:?}. Its caller cannot tell that the \
             store may answer later: the last error must keep its kind",
            text(&err),
        ),
    }

    // A failure worth retrying, then one that is not: stop there, with that error.
    for first in [Silence, status(503, "overloaded")] {
        for last in [status(404, ""), status(500, "database error")] {
            let script = [first.clone(), last.clone(), ok()];
            let (result, asked) = fetch_retrying!(PLAIN, &script);
            let situation = format!(
                "the store answered {PLAIN:?} with {}",
                describe_script(&script[..2])
            );
            let err = match result {
                Ok(_) => panic!(
                    "{situation}, and fetch_with_retry asked again and returned the document: \
                     it retried an error that is no different on a second try"
                ),
                Err(err) => err,
            };
            assert_eq!(
                asked,
                2,
                "{situation}, and fetch_with_retry sent {}: it should retry the first and stop \
                 at the second",
                requests(asked),
            );
            assert!(
                !is_retryable(&err),
                "{situation}, and fetch_with_retry returned {:?}, which is_retryable says is \
                 worth retrying: it should return the last error, {}",
                text(&err),
                kind(&last),
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_missing_document_is_not_retried() {
    let messages = messages().await;
    // Runbooks are named after the symptom they are for, and a name can hold any text at all,
    // even that of the client's own error messages.
    let names = [
        PLAIN,
        "runbooks/upstream timed out.md",
        "runbooks/request timeout.md",
        "runbooks/503 service unavailable.md",
        &messages.timeout,
        &messages.unavailable,
    ];
    for name in names {
        assert_not_retried(name, status(404, "")).await;
    }
}

#[tokio::test(start_paused = true)]
async fn other_failures_are_not_retried() {
    let messages = messages().await;
    // The store explains its errors in the body, and an explanation can say anything: the store
    // itself may have timed out on its database, or relay a message like ours from a replica.
    for answer in [
        status(400, "bad document name"),
        status(403, "forbidden"),
        status(500, "database error: query timeout after 2s (code 503)"),
        status(500, &messages.timeout),
        status(502, &messages.unavailable),
    ] {
        assert_not_retried(PLAIN, answer).await;
    }
}

#[tokio::test(start_paused = true)]
async fn is_retryable_tells_the_kinds_apart_whatever_their_messages_say() {
    let messages = messages().await;
    let worth_retrying = [
        (PLAIN, Silence),
        (messages.not_found.as_str(), Silence),
        (messages.server_error.as_str(), Silence),
        (PLAIN, status(503, "overloaded")),
        (PLAIN, status(503, &messages.not_found)),
    ];
    let not_worth_retrying = [
        (PLAIN, status(404, "")),
        (messages.timeout.as_str(), status(404, "")),
        (messages.unavailable.as_str(), status(404, "")),
        (PLAIN, status(500, &messages.timeout)),
        (PLAIN, status(500, &messages.unavailable)),
    ];
    for (expected, cases) in [(true, &worth_retrying), (false, &not_worth_retrying)] {
        for (name, answer) in cases.iter() {
            let err = fetch(&FakeStore::new(std::slice::from_ref(answer)), name)
                .await
                .err()
                .unwrap_or_else(|| {
                    panic!(
                        "the store answered {name:?} with {}, yet fetch returned Ok",
                        describe(answer)
                    )
                });
            assert_eq!(
                is_retryable(&err),
                expected,
                "fetch({name:?}) got {} from the store and returned the error {:?}; \
                 is_retryable says {}. The kind of failure decides whether to retry (a \
                 timeout or a 503: yes; anything else: no), and here the message misled it: \
                 the document's name and the store's reply are data, and data can say \
                 anything. The caller needs the kind as something other than words",
                describe(answer),
                text(&err),
                !expected,
            );
        }
    }
}
