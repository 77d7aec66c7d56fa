//! Every test runs on Tokio's paused clock (`start_paused = true`). Time moves only when a test
//! moves it, with `tokio::time::advance`, or when every task is idle and the runtime jumps to the
//! next timer (a `sleep` in the test, the janitor's ticks). So hours of idle sessions take
//! microseconds of real time, and the tests know exactly how much time has passed: as long as the
//! store reads the time from the same clock.
//!
//! The tests use stores with three idle timeouts (90 s, 30 min, 2 h), and some of them let the
//! clock run for hours before the first session is opened, as it does on a server that has been
//! up for a while.

use std::sync::Arc;
use std::time::Duration;

use controllable_time::SessionStore;
use tokio::time::{advance, sleep, Instant};

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// The idle timeouts the tests try, shortest first.
const IDLE_TIMEOUTS: [Duration; 3] = [
    Duration::from_secs(90),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
];

/// The store's idle timeout in the purge and janitor tests.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A duration the way a person says it: `90 s`, `29 min 59 s`, `2 h`.
fn human(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let parts: Vec<String> = [(h, "h"), (m, "min"), (s, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    if parts.is_empty() {
        format!("{d:?}")
    } else {
        parts.join(" ")
    }
}

/// Lets Tokio's clock run for `uptime` with no session open, as on a server that has been up
/// for a while.
async fn server_up_for(uptime: Duration) {
    advance(uptime).await;
}

#[tokio::test(start_paused = true)]
async fn a_session_stays_open_within_the_idle_timeout() {
    for idle_timeout in IDLE_TIMEOUTS {
        let store = SessionStore::new(idle_timeout);
        let token = store.log_in("ada");

        advance(idle_timeout - SECOND).await;

        assert_eq!(
            store.user(token).as_deref(),
            Some("ada"),
            "a session idle for {} was closed, but the idle timeout is {}",
            human(idle_timeout - SECOND),
            human(idle_timeout)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn using_a_session_keeps_it_open() {
    for idle_timeout in IDLE_TIMEOUTS {
        let store = SessionStore::new(idle_timeout);
        let token = store.log_in("ada");
        let start = Instant::now();

        // Used every two thirds of the idle timeout, for three times the idle timeout.
        let pause = idle_timeout * 2 / 3;
        for _ in 0..5 {
            advance(pause).await;
            assert_eq!(
                store.user(token).as_deref(),
                Some("ada"),
                "a session opened {} ago and used every {} was closed: using a session must \
                 start its idle time again, and the idle timeout is {}",
                human(start.elapsed()),
                human(pause),
                human(idle_timeout)
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn an_idle_session_expires() {
    for idle_timeout in IDLE_TIMEOUTS {
        let store = SessionStore::new(idle_timeout);
        let token = store.log_in("ada");
        let start = Instant::now();

        advance(idle_timeout + SECOND).await;
        let idle = start.elapsed();

        assert_eq!(
            store.user(token),
            None,
            "the session has been idle for {} on Tokio's clock, and the idle timeout is {}, yet \
             it is still open: the store did not see that time pass. It reads the time from a \
             clock that the test cannot move, so expiry cannot be tested without waiting for \
             real",
            human(idle),
            human(idle_timeout)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_session_opened_after_hours_of_uptime_gets_its_full_idle_timeout() {
    for idle_timeout in IDLE_TIMEOUTS {
        let store = SessionStore::new(idle_timeout);
        server_up_for(5 * HOUR).await;
        let token = store.log_in("ada");

        advance(idle_timeout - SECOND).await;
        assert_eq!(
            store.user(token).as_deref(),
            Some("ada"),
            "on a store created 5 h ago, a session opened {} ago was closed, but the idle \
             timeout is {}. Are the time of a log-in and the time of a use read from the same \
             clock? Two clocks agree only until the test moves Tokio's",
            human(idle_timeout - SECOND),
            human(idle_timeout)
        );

        advance(idle_timeout + SECOND).await;
        assert_eq!(
            store.user(token),
            None,
            "on a store created 5 h ago, a session last used {} ago is still open, but the idle \
             timeout is {}",
            human(idle_timeout + SECOND),
            human(idle_timeout)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn purging_closes_only_the_idle_sessions() {
    let store = SessionStore::new(IDLE_TIMEOUT);
    server_up_for(3 * HOUR).await;
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
        human(IDLE_TIMEOUT),
        if closed == 0 {
            ". The store did not see the 31 min pass: which clock does it read?"
        } else {
            ""
        }
    );
    assert_eq!(
        store.session_count(),
        1,
        "after purge_expired closed 1 session, the store should hold only grace's"
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

    // Later, grace's session is idle too.
    advance(IDLE_TIMEOUT + MINUTE).await;
    let closed = store.purge_expired();
    assert_eq!(
        (closed, store.session_count()),
        (1, 0),
        "{} after grace last used her session, purge_expired closed {closed} sessions and the \
         store still holds {}: her idle session should have been closed",
        human(IDLE_TIMEOUT + MINUTE),
        store.session_count()
    );
}

#[tokio::test(start_paused = true)]
async fn the_janitor_closes_idle_sessions() {
    let store = Arc::new(SessionStore::new(IDLE_TIMEOUT));
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
        human(IDLE_TIMEOUT)
    );

    // The janitor wakes every minute on its own; the runtime jumps from one tick to the next.
    sleep(25 * MINUTE).await;
    let count = store.session_count();
    assert_eq!(
        count,
        1,
        "{} after three log-ins, with the janitor running every minute, the store holds \
         {count} sessions, expected 1: grace's and alan's sessions have been idle for {} (the \
         idle timeout is {}), only ada's was used 25 min ago.{}",
        human(start.elapsed()),
        human(start.elapsed()),
        human(IDLE_TIMEOUT),
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

    // Then for five hours a new user logs in every 10 minutes and never comes back: with the
    // janitor running, the store holds only the sessions of the last half hour.
    for _ in 0..30 {
        store.log_in("guest");
        sleep(10 * MINUTE).await;
    }
    let count = store.session_count();
    janitor.abort();
    assert!(
        count <= 4,
        "after 5 h with a new session every 10 min and the janitor running every minute, the \
         store holds {count} sessions: the sessions idle for longer than {} were not closed, so \
         the store grows for as long as the server runs",
        human(IDLE_TIMEOUT)
    );
}
