//! Rejected: typed errors inside, but after the last attempt it returns a new error with the last one's text, so the caller cannot tell what kind of failure ended the retries
//! Fails: retries_end_at_a_final_error_or_after_max_attempts
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

/// The kind of a failed fetch: what a caller decides on. It travels inside the `anyhow::Error`,
/// under a context naming the request, and `downcast_ref` gets it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Timeout,
    NotFound,
    Unavailable,
    Status(u16),
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Timeout => write!(f, "timed out after {REQUEST_TIMEOUT:?}"),
            Kind::NotFound => write!(f, "not found"),
            Kind::Unavailable => write!(f, "store unavailable (503)"),
            Kind::Status(status) => write!(f, "unexpected status {status}"),
        }
    }
}

impl std::error::Error for Kind {}

/// Fetches one document, in one attempt.
pub async fn fetch(transport: &impl Transport, name: &str) -> anyhow::Result<String> {
    let Ok(response) = tokio::time::timeout(REQUEST_TIMEOUT, transport.get(name)).await else {
        return Err(anyhow::Error::new(Kind::Timeout).context(format!("GET {name}")));
    };
    let kind = match response.status {
        200 => return Ok(response.body),
        404 => Kind::NotFound,
        503 => Kind::Unavailable,
        status => Kind::Status(status),
    };
    let context = if response.body.is_empty() {
        format!("GET {name}")
    } else {
        format!("GET {name} ({})", response.body)
    };
    Err(anyhow::Error::new(kind).context(context))
}

/// Whether a failed fetch is worth another attempt. A timeout or an overloaded store (503) may
/// well succeed next time; a missing document, or anything else, will fail the same way again.
pub fn is_retryable(err: &anyhow::Error) -> bool {
    matches!(
        err.downcast_ref::<Kind>(),
        Some(Kind::Timeout | Kind::Unavailable)
    )
}

/// Fetches one document, retrying what is worth retrying, up to `MAX_ATTEMPTS` attempts in all.
/// Returns the last error when it gives up.
pub async fn fetch_with_retry(transport: &impl Transport, name: &str) -> anyhow::Result<String> {
    let mut attempt = 1;
    loop {
        match fetch(transport, name).await {
            Err(err) if is_retryable(&err) => {
                if attempt == MAX_ATTEMPTS {
                    // Say how hard we tried: the reader of the log wants to know.
                    anyhow::bail!("gave up on {name} after {attempt} attempts: {err:#}");
                }
                attempt += 1;
                tokio::time::sleep(BACKOFF).await;
            }
            result => return result,
        }
    }
}
