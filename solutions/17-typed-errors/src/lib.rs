//! Client for the document store behind the team wiki. The reference solution.

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

/// Why a fetch failed. Callers act on the kind (retry, give up, show a 404 page) by matching on
/// the variant; the message is only for people. A document's name and the store's reply can say
/// anything ("upstream timed out.md"), so a decision taken by reading the message can always be
/// fooled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The store did not answer within `REQUEST_TIMEOUT`.
    Timeout { name: String },
    /// The store has no such document.
    NotFound { name: String },
    /// The store is overloaded (503); `reason` is its explanation.
    Unavailable { name: String, reason: String },
    /// Any other status.
    Status {
        name: String,
        status: u16,
        reason: String,
    },
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Timeout { name } => {
                write!(f, "GET {name}: timed out after {REQUEST_TIMEOUT:?}")
            }
            FetchError::NotFound { name } => write!(f, "GET {name}: not found"),
            FetchError::Unavailable { name, reason } => {
                write!(f, "GET {name}: store unavailable (503): {reason}")
            }
            FetchError::Status {
                name,
                status,
                reason,
            } => write!(f, "GET {name}: unexpected status {status}: {reason}"),
        }
    }
}

// So that it works with `?` into `anyhow::Error` / `Box<dyn Error>`, and callers who hold it
// there can still get it back with `downcast_ref::<FetchError>()`.
impl std::error::Error for FetchError {}

/// Fetches one document, in one attempt.
pub async fn fetch(transport: &impl Transport, name: &str) -> Result<String, FetchError> {
    let name = name.to_string();
    let Ok(response) = tokio::time::timeout(REQUEST_TIMEOUT, transport.get(&name)).await else {
        return Err(FetchError::Timeout { name });
    };
    match response.status {
        200 => Ok(response.body),
        404 => Err(FetchError::NotFound { name }),
        503 => Err(FetchError::Unavailable {
            name,
            reason: response.body,
        }),
        status => Err(FetchError::Status {
            name,
            status,
            reason: response.body,
        }),
    }
}

/// Whether a failed fetch is worth another attempt. A timeout or an overloaded store (503) may
/// well succeed next time; a missing document, or anything else, will fail the same way again.
pub fn is_retryable(err: &FetchError) -> bool {
    // Decided by the kind of error, which the compiler checks, not by words in its message.
    matches!(
        err,
        FetchError::Timeout { .. } | FetchError::Unavailable { .. }
    )
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
