//! Every test runs on Tokio's paused clock (`start_paused = true`). Time moves only when a test
//! moves it, with `tokio::time::advance`, or when every task is idle and the runtime jumps to the
//! next timer (a `sleep` in the test, the janitor's ticks). So half an hour of idle sessions
//! takes microseconds of real time, and the tests know exactly how much time has passed: as long
//! as the store reads the time from the same clock.

use std::sync::Arc;
use std::time::Duration;

use controllable_time::SessionStore;
use tokio::time::{advance, sleep, Instant};

const MINUTE: Duration = Duration::from_secs(60);

/// The store's idle timeout in every test.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

fn store() -> SessionStore {
    SessionStore::new(IDLE_TIMEOUT)
}

fn minutes(d: Duration) -> String {
    format!("{} min", d.as_secs() / 60)
}

#[tokio::test(start_paused = true)]
async fn a_session_stays_open_within_the_idle_timeout() {
    let store = store();
    let token = store.log_in("ada");

    advance(29 * MINUTE).await;

    assert_eq!(
        store.user(token).as_deref(),
        Some("ada"),
        "a session idle for 29 min was closed, but the idle timeout is {}",
        minutes(IDLE_TIMEOUT)
    );
}

#[tokio::test(start_paused = true)]
async fn using_a_session_keeps_it_open() {
    let store = store();
    let token = store.log_in("ada");

    advance(20 * MINUTE).await;
    assert_eq!(
        store.user(token).as_deref(),
        Some("ada"),
        "a session used after 20 min of idle time was closed, but the idle timeout is {}",
        minutes(IDLE_TIMEOUT)
    );

    advance(20 * MINUTE).await;
    assert_eq!(
        store.user(token).as_deref(),
        Some("ada"),
        "a session opened 40 min ago and used 20 min ago was closed: using a session must \
         start its idle time again, and the idle timeout is {}",
        minutes(IDLE_TIMEOUT)
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_session_expires() {
    let store = store();
    let token = store.log_in("ada");
    let start = Instant::now();

    advance(31 * MINUTE).await;
    let idle = start.elapsed();

    assert_eq!(
        store.user(token),
        None,
        "the session has been idle for {} on Tokio's clock, and the idle timeout is {}, yet it \
         is still open: the store did not see that time pass. It reads the time from a clock \
         that the test cannot move, so expiry cannot be tested without waiting for real",
        minutes(idle),
        minutes(IDLE_TIMEOUT)
    );
}

#[tokio::test(start_paused = true)]
async fn purging_closes_only_the_idle_sessions() {
    let store = store();
    let ada = store.log_in("ada");
    advance(20 * MINUTE).await;
    let grace = store.log_in("grace");

    advance(11 * MINUTE).await;
    let closed = store.purge_expired();

    assert_eq!(
        closed,
        1,
        "purge_expired closed {closed} sessions, expected 1: ada's session has been idle for \
         31 min on Tokio's clock and grace's for 11 min, with an idle timeout of {}{}",
        minutes(IDLE_TIMEOUT),
        if closed == 0 {
            ". The store did not see the 31 min pass: which clock does it read?"
        } else {
            ""
        }
    );
    assert_eq!(
        store.user(ada),
        None,
        "ada's session, idle for 31 min, is still open after purge_expired"
    );
    assert_eq!(
        store.user(grace).as_deref(),
        Some("grace"),
        "grace's session, idle for 11 min only, was closed"
    );
}

#[tokio::test(start_paused = true)]
async fn the_janitor_closes_idle_sessions() {
    let store = Arc::new(store());
    let janitor = tokio::spawn(Arc::clone(&store).run_janitor(MINUTE));
    let start = Instant::now();

    let ada = store.log_in("ada");
    store.log_in("grace");
    store.log_in("alan");
    sleep(10 * MINUTE).await;
    assert_eq!(
        store.user(ada).as_deref(),
        Some("ada"),
        "ada's session was closed after 10 min, but the idle timeout is {}",
        minutes(IDLE_TIMEOUT)
    );

    // The janitor wakes every minute on its own; the runtime jumps from one tick to the next.
    sleep(25 * MINUTE).await;
    let now = start.elapsed();
    let count = store.session_count();
    janitor.abort();

    assert_eq!(
        count,
        1,
        "{} after three log-ins, with the janitor running every minute, the store holds \
         {count} sessions, expected 1: grace's and alan's sessions have been idle for {} (the \
         idle timeout is {}), only ada's was used 25 min ago.{}",
        minutes(now),
        minutes(now),
        minutes(IDLE_TIMEOUT),
        if count == 3 {
            " The janitor woke up on time and closed nothing: the store did not see the time \
             pass"
        } else {
            ""
        }
    );
    assert_eq!(
        store.user(ada).as_deref(),
        Some("ada"),
        "ada's session, used 25 min ago, was closed"
    );
}
