//! Rejected: backs off and bounds each attempt, but never counts them: against a service that stays down, the caller never gets an error.
//! Fails: gives_up_after_max_attempts_with_the_last_error, a_service_that_never_answers_ends_in_a_timeout, a_hundred_attempts_keep_to_the_schedule
//! Retrying calls to a flaky service.

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
        let mut delay = self.base_delay.min(self.max_delay);
        loop {
            match tokio::time::timeout(self.attempt_timeout, attempt()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(_)) | Err(_) => {}
            }
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2).min(self.max_delay);
        }
    }
}
