//! Accepted: a `FetchError` struct whose `kind` field is an enum, matched by `is_retryable`; the message is a separate field for people
//! Client for the document store behind the team wiki.
//!
//! Bug report from the wiki team: "When the store is slow, pages fail at once with `timed out`,
//! although `fetch_with_retry` is meant to retry timeouts. And some dead links to deleted runbooks
//! take a second longer than the others to show their 404: the store's logs show each of those
//! missing documents asked for three times in a row. Same for some 500s."

use std::fmt;
use std::future::Future;
use std::time::Duration;

/// How long one request may take before we stop waiting for it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// How many times `fetch_with_retry` tries in all, the first attempt included.
pub const MAX_ATTEMPTS: usize = 3;

/// The pause between two attempts.
pub const BACKOFF: Duration = Duration::from_millis(500);

/// What the store answered: an HTTP status and the body. For an error status, the body is the
/// store's own explanation ("overloaded, try again later", "database error: ...").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// The HTTP connection to the document store.
pub trait Transport {
    /// Sends `GET /docs/{name}` and waits for the answer (which may never come).
    fn get(&self, name: &str) -> impl Future<Output = Response> + Send;
}

/// What kind of failure a fetch ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Timeout,
    NotFound,
    Unavailable,
    OtherStatus,
}

/// A failed fetch: its kind, for code, and a message, for people.
#[derive(Debug, Clone)]
pub struct FetchError {
    pub kind: ErrorKind,
    pub message: String,
}

impl FetchError {
    fn new(kind: ErrorKind, message: String) -> FetchError {
        FetchError { kind, message }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FetchError {}

/// Fetches one document, in one attempt.
pub async fn fetch(transport: &impl Transport, name: &str) -> Result<String, FetchError> {
    let Ok(response) = tokio::time::timeout(REQUEST_TIMEOUT, transport.get(name)).await else {
        return Err(FetchError::new(
            ErrorKind::Timeout,
            format!("GET {name}: timed out after {REQUEST_TIMEOUT:?}"),
        ));
    };
    let body = response.body;
    match response.status {
        200 => Ok(body),
        404 => Err(FetchError::new(
            ErrorKind::NotFound,
            format!("GET {name}: not found"),
        )),
        503 => Err(FetchError::new(
            ErrorKind::Unavailable,
            format!("GET {name}: store unavailable (503): {body}"),
        )),
        status => Err(FetchError::new(
            ErrorKind::OtherStatus,
            format!("GET {name}: unexpected status {status}: {body}"),
        )),
    }
}

/// Whether a failed fetch is worth another attempt. A timeout or an overloaded store (503) may
/// well succeed next time; a missing document, or anything else, will fail the same way again.
pub fn is_retryable(err: &FetchError) -> bool {
    match err.kind {
        ErrorKind::Timeout | ErrorKind::Unavailable => true,
        ErrorKind::NotFound | ErrorKind::OtherStatus => false,
    }
}

/// Fetches one document, retrying what is worth retrying, up to `MAX_ATTEMPTS` attempts in all.
/// Returns the last error when it gives up.
pub async fn fetch_with_retry(
    transport: &impl Transport,
    name: &str,
) -> Result<String, FetchError> {
    let mut attempt = 1;
    loop {
        match fetch(transport, name).await {
            Err(err) if attempt < MAX_ATTEMPTS && is_retryable(&err) => {
                attempt += 1;
                tokio::time::sleep(BACKOFF).await;
            }
            result => return result,
        }
    }
}
