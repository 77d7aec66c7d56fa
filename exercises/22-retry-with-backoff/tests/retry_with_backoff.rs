//! Every test runs on a paused clock with a fake service that follows a script: each attempt
//! fails, hangs or answers. The service notes when each attempt started and when it ended (it
//! returned, or it was dropped because the caller stopped waiting for it), on Tokio's clock. So
//! the tests read the retry schedule exactly, in virtual time, in microseconds of real time.
//!
//! The property under test: for any policy, attempt `n` that fails (with an error or by running
//! past `attempt_timeout`, which cancels it) is followed by a pause of exactly
//! `min(base_delay * 2^(n-1), max_delay)`, however many attempts that takes, until `max_attempts`
//! attempts have been made; then `retry` returns the last attempt's error at once.

use std::cell::Cell;
use std::future::Future;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use retry_with_backoff::{AttemptError, RetryPolicy};
use tokio::time::{sleep, timeout, Instant};

/// Far longer than any schedule in these tests takes (the longest is about 6.5 s).
const PATIENCE: Duration = Duration::from_secs(60);

/// How long the fake service takes to fail or to answer.
const LATENCY: Duration = Duration::from_millis(5);

/// How far a pause or a cut-off may be from what the policy says.
const SLACK: Duration = Duration::from_millis(10);

/// What the fake service answers once it is back.
const STOCK: u32 = 42;

/// The policy under test: pauses of 100 ms, 200 ms, 400 ms, 800 ms, then 1 s each.
fn policy() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        max_attempts: 7,
        attempt_timeout: Duration::from_secs(2),
    }
}

/// The pause the policy's documented schedule asks for after attempt `n` (from 1) fails:
/// `min(base_delay * 2^(n-1), max_delay)`.
fn pause_after(policy: &RetryPolicy, n: usize) -> Duration {
    let doubled = 2u32
        .checked_pow(n as u32 - 1)
        .and_then(|factor| policy.base_delay.checked_mul(factor))
        .unwrap_or(Duration::MAX);
    doubled.min(policy.max_delay)
}

/// What the fake service does on one attempt.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Fails after `LATENCY` with "attempt N: 503 Service Unavailable".
    Fail,
    /// Accepts the request and never answers.
    Hang,
    /// Answers `STOCK` after `LATENCY`.
    Answer,
}

/// One attempt as the service saw it, in virtual time since the test started.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    started: Duration,
    /// When the attempt returned, or was dropped unfinished; `None` while it still runs.
    ended: Option<Duration>,
}

#[derive(Clone)]
struct FakeService {
    /// One step per attempt; the last step repeats for every attempt after it.
    script: Arc<Vec<Step>>,
    epoch: Instant,
    attempts: Arc<Mutex<Vec<Attempt>>>,
}

/// Lives inside an attempt's future: notes when the attempt ends, whether it returns or is
/// dropped (cancelled) by the caller.
struct EndOfAttempt {
    service: FakeService,
    index: usize,
}

impl Drop for EndOfAttempt {
    fn drop(&mut self) {
        let now = self.service.now();
        self.service.attempts.lock().unwrap()[self.index].ended = Some(now);
    }
}

impl FakeService {
    fn new(script: &[Step]) -> FakeService {
        FakeService {
            script: Arc::new(script.to_vec()),
            epoch: Instant::now(),
            attempts: Arc::default(),
        }
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn attempts(&self) -> Vec<Attempt> {
        self.attempts.lock().unwrap().clone()
    }

    /// One call to the service.
    fn call(&self) -> impl Future<Output = Result<u32, String>> {
        let service = self.clone();
        async move {
            let index = {
                let mut attempts = service.attempts.lock().unwrap();
                attempts.push(Attempt {
                    started: service.now(),
                    ended: None,
                });
                attempts.len() - 1
            };
            let number = index + 1;
            let step = *service
                .script
                .get(index)
                .or(service.script.last())
                .expect("the script has at least one step");
            let _end = EndOfAttempt {
                service: service.clone(),
                index,
            };
            match step {
                Step::Fail => {
                    sleep(LATENCY).await;
                    Err(format!("attempt {number}: 503 Service Unavailable"))
                }
                Step::Hang => std::future::pending().await,
                Step::Answer => {
                    sleep(LATENCY).await;
                    Ok(STOCK)
                }
            }
        }
    }
}

/// The first attempts, for messages: "#1 0ns..5ms, #2 5ms..10ms, ...".
fn timeline(attempts: &[Attempt]) -> String {
    let mut shown: Vec<String> = attempts
        .iter()
        .take(8)
        .enumerate()
        .map(|(i, a)| match a.ended {
            Some(ended) => format!("#{} {:?}..{:?}", i + 1, a.started, ended),
            None => format!("#{} {:?}..(still running)", i + 1, a.started),
        })
        .collect();
    if attempts.len() > 8 {
        shown.push(format!("... {} attempts in all", attempts.len()));
    }
    shown.join(", ")
}

/// The pause before each retry: from the end of attempt n to the start of attempt n + 1.
fn pauses(attempts: &[Attempt]) -> Vec<Duration> {
    attempts
        .windows(2)
        .map(|pair| {
            let ended = pair[0]
                .ended
                .expect("an attempt was retried while it was still running");
            pair[1].started.saturating_sub(ended)
        })
        .collect()
}

thread_local! {
    /// Set while `retry` runs in its task: a panic there is reported by the test, with its
    /// message, instead of being printed by the panic hook first.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

fn quiet_panics_in_retry() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                default(info);
            }
        }));
    });
}

/// Keeps panics quiet on this thread while it lives, even if the wait is cancelled.
struct Quiet;

impl Quiet {
    fn new() -> Quiet {
        quiet_panics_in_retry();
        QUIET.with(|quiet| quiet.set(true));
        Quiet
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        QUIET.with(|quiet| quiet.set(false));
    }
}

/// Runs `policy.retry` against the service for at most `PATIENCE` of virtual time, and says what
/// went wrong if it did not return by then, or if it panicked.
async fn run(policy: &RetryPolicy, service: &FakeService) -> Result<u32, AttemptError<String>> {
    let task = {
        let (policy, service) = (policy.clone(), service.clone());
        tokio::spawn(async move { policy.retry(|| service.call()).await })
    };
    // The paused test runtime has one thread: `retry` runs on this one, while we wait for it.
    let quiet = Quiet::new();
    let abort = task.abort_handle();
    let outcome = timeout(PATIENCE, task).await;
    if outcome.is_err() {
        // Dropping `retry` at the deadline also drops the attempt it was waiting for.
        abort.abort();
        tokio::task::yield_now().await;
    }
    drop(quiet);
    match outcome {
        Ok(Ok(result)) => result,
        Ok(Err(join_error)) => {
            let attempts = service.attempts();
            let message = match join_error.try_into_panic() {
                Ok(payload) => payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default(),
                Err(other) => other.to_string(),
            };
            panic!(
                "retry panicked with \"{message}\" after {} attempt(s), with max_attempts {}, \
                 base_delay {:?} and max_delay {:?}. A retry loop has to work however many \
                 attempts the policy allows: the pause stops growing at max_delay, and the \
                 arithmetic that computes it must not overflow on the way. Attempts: {}",
                attempts.len(),
                policy.max_attempts,
                policy.base_delay,
                policy.max_delay,
                timeline(&attempts)
            )
        }
        Err(_) => {
            let attempts = service.attempts();
            let hung = |a: &Attempt| {
                let ran_for = a.ended.unwrap_or_else(|| service.now()) - a.started;
                ran_for > policy.attempt_timeout + SLACK
            };
            match attempts.last() {
                Some(last) if hung(last) => panic!(
                    "retry did not return within {PATIENCE:?} of virtual time: attempt {} \
                     started at {:?} and was still waiting for an answer that never comes. \
                     Nothing cancelled it after attempt_timeout ({:?}), so one hung call holds \
                     the caller forever",
                    attempts.len(),
                    last.started,
                    policy.attempt_timeout,
                ),
                _ => panic!(
                    "retry never gave up: after {PATIENCE:?} of virtual time it had made {} \
                     attempts and was still retrying, although the policy allows {} in all. \
                     Attempts: {}",
                    attempts.len(),
                    policy.max_attempts,
                    timeline(&attempts)
                ),
            }
        }
    }
}

/// Checks every pause between two attempts against the policy's schedule.
fn assert_schedule(policy: &RetryPolicy, attempts: &[Attempt], which: &str) {
    let pauses = pauses(attempts);
    let expected: Vec<Duration> = (1..=pauses.len()).map(|n| pause_after(policy, n)).collect();
    for (i, (&pause, &want)) in pauses.iter().zip(&expected).enumerate() {
        let n = i + 1;
        let shown = |list: &[Duration]| {
            let mut text = format!("{:?}", &list[..list.len().min(8)]);
            if list.len() > 8 {
                text.push_str(&format!(" and {} more", list.len() - 8));
            }
            text
        };
        assert!(
            pause.abs_diff(want) <= SLACK,
            "{which}: retry waited {pause:?} after attempt {n} failed, but the policy (base_delay \
             {:?}, max_delay {:?}) says min(base_delay * 2^(n-1), max_delay) = {want:?}. The \
             pause doubles after each failure, whatever the numbers, and stays at max_delay once \
             it gets there. Pauses: {}, the policy's schedule: {}",
            policy.base_delay,
            policy.max_delay,
            shown(&pauses),
            shown(&expected)
        );
    }
}

fn assert_attempts(service: &FakeService, expected: usize, why: &str) {
    let attempts = service.attempts();
    assert_eq!(
        attempts.len(),
        expected,
        "expected exactly {expected} attempts ({why}), the service saw {}: {}",
        attempts.len(),
        timeline(&attempts)
    );
}

#[tokio::test(start_paused = true)]
async fn returns_the_answer_once_the_service_recovers() {
    let service = FakeService::new(&[Step::Fail, Step::Fail, Step::Answer]);

    let result = run(&policy(), &service).await;

    assert_eq!(
        result,
        Ok(STOCK),
        "the service failed twice and then answered {STOCK}: retry should return that answer"
    );
    assert_attempts(&service, 3, "two failures, then the answer");
}

#[tokio::test(start_paused = true)]
async fn waits_before_retrying() {
    let policy = policy();
    let service = FakeService::new(&[Step::Fail, Step::Fail, Step::Fail, Step::Answer]);

    let result = run(&policy, &service).await;

    assert_eq!(
        result,
        Ok(STOCK),
        "the service failed three times and then answered: retry should return the answer"
    );
    let attempts = service.attempts();
    let pauses = pauses(&attempts);
    assert!(
        pauses.len() >= 3,
        "expected 4 attempts, the service saw {}: {}",
        attempts.len(),
        timeline(&attempts)
    );
    let base = policy.base_delay;
    assert!(
        pauses[0] + SLACK >= base,
        "attempt 2 started {:?} after attempt 1 failed: that is hammering a service that just \
         said it is in trouble. The policy says to wait base_delay ({base:?}) first. \
         Attempts: {}",
        pauses[0],
        timeline(&attempts)
    );
    assert!(
        pauses[0] <= base + SLACK,
        "attempt 2 started {:?} after attempt 1 failed, but the first pause should be \
         base_delay ({base:?}). Attempts: {}",
        pauses[0],
        timeline(&attempts)
    );
    for (i, pair) in pauses.windows(2).enumerate() {
        assert!(
            pair[1] + SLACK >= pair[0],
            "the pause before attempt {} ({:?}) is shorter than the one before attempt {} \
             ({:?}): a backoff never shrinks while the service keeps failing. Pauses: {pauses:?}",
            i + 3,
            pair[1],
            i + 2,
            pair[0]
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_pause_doubles_up_to_max_delay() {
    let policy = policy();
    // Six failures, then the answer on the 7th and last attempt allowed.
    let mut script = vec![Step::Fail; 6];
    script.push(Step::Answer);
    let service = FakeService::new(&script);

    let result = run(&policy, &service).await;

    assert_eq!(
        result,
        Ok(STOCK),
        "the service failed six times and answered on attempt 7 of 7: retry should return the \
         answer"
    );
    let attempts = service.attempts();
    let pauses = pauses(&attempts);
    let expected: Vec<Duration> = (1..=6).map(|n| pause_after(&policy, n)).collect();
    assert_eq!(
        pauses.len(),
        expected.len(),
        "expected 7 attempts, the service saw {}: {}",
        attempts.len(),
        timeline(&attempts)
    );
    for (i, (&pause, &want)) in pauses.iter().zip(&expected).enumerate() {
        let n = i + 1;
        assert!(
            pause <= policy.max_delay + SLACK,
            "retry waited {pause:?} after attempt {n} failed, longer than max_delay \
             ({:?}): the doubling must stop at the cap, or a long outage makes callers wait \
             minutes between attempts. Pauses: {pauses:?}, the policy's schedule: {expected:?}",
            policy.max_delay
        );
        assert!(
            pause.abs_diff(want) <= SLACK,
            "retry waited {pause:?} after attempt {n} failed, but the policy says \
             min(base_delay * 2^(n-1), max_delay) = {want:?}: the pause should double after \
             each failure ({:?}, twice that, ...) up to max_delay ({:?}). \
             Pauses: {pauses:?}, the policy's schedule: {expected:?}",
            policy.base_delay,
            policy.max_delay
        );
    }
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_max_attempts_with_the_last_error() {
    for max_attempts in [4, 1, 2] {
        let policy = RetryPolicy {
            max_attempts,
            ..policy()
        };
        // The service stays down; each error names its attempt.
        let service = FakeService::new(&[Step::Fail]);

        let result = run(&policy, &service).await;
        let returned_at = service.now();

        let n = max_attempts as usize;
        assert_attempts(
            &service,
            n,
            &format!("max_attempts is {n} and every attempt fails"),
        );
        let last_error = AttemptError::Failed(format!("attempt {n}: 503 Service Unavailable"));
        match &result {
            Ok(value) => panic!("retry returned Ok({value}) although every attempt failed"),
            Err(error) if *error == last_error => {}
            Err(error) => panic!(
                "with max_attempts {n}, retry gave up with {error:?}, but the caller should get \
                 the error of the last attempt, {last_error:?}: it says what the service's state \
                 is now"
            ),
        }
        let attempts = service.attempts();
        let failed_at = attempts[n - 1].ended.expect("the last attempt has ended");
        let waited = returned_at - failed_at;
        assert!(
            waited <= SLACK,
            "with max_attempts {n}, retry returned the error {waited:?} after the last attempt \
             failed: it waited before giving up, although no attempt was left to wait for. \
             Attempts: {}",
            timeline(&attempts)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_attempt_is_cancelled_and_retried() {
    let policy = policy();
    // The first attempt is accepted and never answered; the second one answers.
    let service = FakeService::new(&[Step::Hang, Step::Answer]);

    let result = run(&policy, &service).await;

    assert_eq!(
        result,
        Ok(STOCK),
        "attempt 1 hung and attempt 2 answered: retry should return the answer"
    );
    assert_attempts(&service, 2, "one that hung, then one that answered");
    let attempts = service.attempts();
    let first = attempts[0];
    let ran_for = first.ended.expect("attempt 1 has ended") - first.started;
    assert!(
        ran_for.abs_diff(policy.attempt_timeout) <= SLACK,
        "the hung attempt was cancelled after {ran_for:?}, but attempt_timeout is {:?}. \
         Attempts: {}",
        policy.attempt_timeout,
        timeline(&attempts)
    );
    let pause = pauses(&attempts)[0];
    assert!(
        pause + SLACK >= policy.base_delay,
        "attempt 2 started {pause:?} after attempt 1 timed out: a timeout is a failure like \
         any other, so back off by base_delay ({:?}) before retrying. Attempts: {}",
        policy.base_delay,
        timeline(&attempts)
    );
}

#[tokio::test(start_paused = true)]
async fn a_service_that_never_answers_ends_in_a_timeout() {
    let policy = RetryPolicy {
        max_attempts: 3,
        ..policy()
    };
    let service = FakeService::new(&[Step::Hang]);

    let result = run(&policy, &service).await;

    assert_attempts(&service, 3, "max_attempts is 3 and every attempt hangs");
    assert_eq!(
        result,
        Err(AttemptError::TimedOut),
        "every attempt hung until it was cancelled: retry should give up with the last \
         attempt's error, AttemptError::TimedOut"
    );
    let attempts = service.attempts();
    for (i, attempt) in attempts.iter().enumerate() {
        let ran_for = attempt.ended.expect("every attempt has ended") - attempt.started;
        assert!(
            ran_for.abs_diff(policy.attempt_timeout) <= SLACK,
            "attempt {} was cancelled after {ran_for:?}, but attempt_timeout is {:?}. \
             Attempts: {}",
            i + 1,
            policy.attempt_timeout,
            timeline(&attempts)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_schedule_follows_the_policy_whatever_its_numbers() {
    use Step::{Answer, Fail, Hang};
    let ms = Duration::from_millis;
    // (base_delay, max_delay, attempt_timeout, script): the answer comes on the last step.
    let cases = [
        // The cap is not a power-of-two multiple of the base: 30, 60, 120, then 200.
        (
            ms(30),
            ms(200),
            ms(2_000),
            vec![Fail, Fail, Fail, Fail, Fail, Answer],
        ),
        // The cap is the base: a constant pause.
        (ms(250), ms(250), ms(2_000), vec![Fail, Fail, Fail, Answer]),
        // The cap is far away: plain doubling, 10 ms to 640 ms.
        (
            ms(10),
            ms(10_000),
            ms(2_000),
            vec![Fail; 8].into_iter().chain([Answer]).collect(),
        ),
        // Timeouts are failures like the others: they take their turn in the same schedule.
        (
            ms(1_000),
            ms(3_000),
            ms(500),
            vec![Fail, Hang, Fail, Hang, Answer],
        ),
    ];
    for (base_delay, max_delay, attempt_timeout, script) in cases {
        let policy = RetryPolicy {
            base_delay,
            max_delay,
            max_attempts: script.len() as u32,
            attempt_timeout,
        };
        let which = format!(
            "with base_delay {base_delay:?}, max_delay {max_delay:?} and the script {script:?}"
        );
        let service = FakeService::new(&script);

        let result = run(&policy, &service).await;

        assert_eq!(
            result,
            Ok(STOCK),
            "{which}, the service answered on the last attempt allowed: retry should return the \
             answer. Attempts: {}",
            timeline(&service.attempts())
        );
        assert_attempts(&service, script.len(), &which);
        assert_schedule(&policy, &service.attempts(), &which);
    }
}

#[tokio::test(start_paused = true)]
async fn a_hundred_attempts_keep_to_the_schedule() {
    // A long outage with a policy that allows many attempts: the pause reaches max_delay after a
    // few failures and must stay there, attempt after attempt, up to the last.
    let policy = RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(20),
        max_attempts: 100,
        attempt_timeout: Duration::from_secs(2),
    };
    let service = FakeService::new(&[Step::Fail]);

    let result = run(&policy, &service).await;

    assert_attempts(&service, 100, "max_attempts is 100 and every attempt fails");
    assert_schedule(
        &policy,
        &service.attempts(),
        "over 100 failed attempts (base_delay 1 ms, max_delay 20 ms)",
    );
    assert_eq!(
        result,
        Err(AttemptError::Failed(
            "attempt 100: 503 Service Unavailable".to_string()
        )),
        "after 100 failed attempts, retry should give up with the error of the last one"
    );
}
