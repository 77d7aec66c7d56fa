//! Accepted: a `for` loop over the attempt numbers computes each pause from `n` with `checked_pow` (saturating to max_delay), races the attempt against a `sleep` in `select!`, and waits with `sleep_until`.
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
        let mut last_error = None;
        for n in 1..=self.max_attempts.max(1) {
            let deadline = tokio::time::Instant::now() + self.attempt_timeout;
            let error = tokio::select! {
                result = attempt() => match result {
                    Ok(value) => return Ok(value),
                    Err(err) => AttemptError::Failed(err),
                },
                _ = tokio::time::sleep_until(deadline) => AttemptError::TimedOut,
            };
            if n == self.max_attempts.max(1) {
                last_error = Some(error);
                break;
            }
            // min(base_delay * 2^(n-1), max_delay), where an overflow can only mean "past the cap".
            let pause = 2u32
                .checked_pow(n - 1)
                .and_then(|factor| self.base_delay.checked_mul(factor))
                .map_or(self.max_delay, |pause| pause.min(self.max_delay));
            let wake_at = tokio::time::Instant::now() + pause;
            tokio::time::sleep_until(wake_at).await;
        }
        Err(last_error.expect("at least one attempt ran"))
    }
}
