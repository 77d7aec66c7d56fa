//! Every test runs on a paused clock: a fake backend "takes" its latency in virtual time, so the
//! tests take microseconds and can measure exactly how long the page waited. The fake backends
//! also track every call: which are still in flight (a drop guard lives in each call's future)
//! and which ran to completion.
//!
//! The property: the three independent calls run at once, so the page waits as long as the
//! slowest of them; and when any one fails, whichever it is, its error comes back as soon as it
//! happens and every other call is cancelled (nothing left running, nothing finishing later).
//! The same holds when the caller gives up on the page: its calls go with it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use join_and_try_join::{load_dashboard, Backends, Dashboard, Order, Profile, UserId};
use tokio::time::{sleep, timeout, Instant};

const USER: UserId = 42;

/// Far longer than any call takes.
const PATIENCE: Duration = Duration::from_secs(60);

/// What the failing backend answers. The tests look for it in the error chain.
const ROOT_CAUSE: &str = "503 Service Unavailable";

/// What the fake backends know about the calls made to them.
#[derive(Default)]
struct Calls {
    /// Every call started, in order.
    started: Mutex<Vec<&'static str>>,
    /// Calls started and not yet finished or dropped.
    in_flight: Mutex<BTreeSet<&'static str>>,
    /// Calls that ran to the end and returned their answer.
    completed: Mutex<Vec<&'static str>>,
}

impl Calls {
    fn in_flight(&self) -> Vec<&'static str> {
        self.in_flight.lock().unwrap().iter().copied().collect()
    }

    fn completed(&self) -> Vec<&'static str> {
        self.completed.lock().unwrap().clone()
    }

    fn started(&self) -> Vec<&'static str> {
        let mut started = self.started.lock().unwrap().clone();
        started.sort();
        started
    }
}

/// Lives inside a call's future: marks the call in flight from its first poll until the future
/// finishes or is dropped (cancelled).
struct InFlight {
    calls: Arc<Calls>,
    name: &'static str,
}

impl InFlight {
    fn new(calls: &Arc<Calls>, name: &'static str) -> InFlight {
        calls.in_flight.lock().unwrap().insert(name);
        InFlight {
            calls: Arc::clone(calls),
            name,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.calls.in_flight.lock().unwrap().remove(self.name);
    }
}

/// How one backend behaves: its latency, and whether it fails after it.
#[derive(Clone, Copy)]
struct Plan {
    latency: Duration,
    fails: bool,
}

fn answers(ms: u64) -> Plan {
    Plan {
        latency: Duration::from_millis(ms),
        fails: false,
    }
}

fn fails_after(ms: u64) -> Plan {
    Plan {
        latency: Duration::from_millis(ms),
        fails: true,
    }
}

#[derive(Clone)]
struct FakeBackends {
    profile: Plan,
    orders: Plan,
    recommendations: Plan,
    calls: Arc<Calls>,
}

impl FakeBackends {
    fn new(profile: Plan, orders: Plan, recommendations: Plan) -> FakeBackends {
        FakeBackends {
            profile,
            orders,
            recommendations,
            calls: Arc::default(),
        }
    }

    async fn call<T>(&self, name: &'static str, plan: Plan, answer: T) -> anyhow::Result<T> {
        self.calls.started.lock().unwrap().push(name);
        let _in_flight = InFlight::new(&self.calls, name);
        sleep(plan.latency).await;
        if plan.fails {
            anyhow::bail!("{name} backend answered {ROOT_CAUSE}");
        }
        self.calls.completed.lock().unwrap().push(name);
        Ok(answer)
    }
}

fn profile() -> Profile {
    Profile {
        user: USER,
        name: "Ada".to_string(),
    }
}

fn orders() -> Vec<Order> {
    vec![
        Order {
            id: 7,
            total_cents: 1999,
        },
        Order {
            id: 9,
            total_cents: 450,
        },
    ]
}

fn recommendations() -> Vec<String> {
    vec!["rust-in-action".to_string(), "tokio-mug".to_string()]
}

impl Backends for FakeBackends {
    async fn profile(&self, user: UserId) -> anyhow::Result<Profile> {
        assert_eq!(user, USER, "profile was asked for the wrong user");
        self.call("profile", self.profile, profile()).await
    }

    async fn orders(&self, user: UserId) -> anyhow::Result<Vec<Order>> {
        assert_eq!(user, USER, "orders was asked for the wrong user");
        self.call("orders", self.orders, orders()).await
    }

    async fn recommendations(&self, user: UserId) -> anyhow::Result<Vec<String>> {
        assert_eq!(user, USER, "recommendations was asked for the wrong user");
        self.call("recommendations", self.recommendations, recommendations())
            .await
    }
}

/// Loads the dashboard for at most `PATIENCE` of virtual time; returns the result and how much
/// virtual time it took.
async fn load(backends: &FakeBackends) -> (anyhow::Result<Dashboard>, Duration) {
    let start = Instant::now();
    let result = timeout(PATIENCE, load_dashboard(backends, USER))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "load_dashboard did not return within 60 s of virtual time, although no \
                 backend takes more than 2 s: it is stuck"
            )
        });
    (result, start.elapsed())
}

/// Healthy backends with different latencies (profile, orders, recommendations, in ms): each of
/// the three is the slowest once.
const HEALTHY: &[(u64, u64, u64)] = &[(200, 500, 300), (900, 100, 400), (50, 60, 1_000)];

/// One backend is down: it fails after 100 ms, while the other two take 1 s and 2 s. Each of
/// the three is the broken one once.
fn one_backend_down() -> Vec<(&'static str, FakeBackends)> {
    vec![
        (
            "orders",
            FakeBackends::new(answers(1_000), fails_after(100), answers(2_000)),
        ),
        (
            "profile",
            FakeBackends::new(fails_after(100), answers(2_000), answers(1_000)),
        ),
        (
            "recommendations",
            FakeBackends::new(answers(2_000), answers(1_000), fails_after(100)),
        ),
    ]
}

/// When the broken backend fails in `one_backend_down`.
const FAILS_AT: Duration = Duration::from_millis(100);

/// How long after a failure the error may take to come back: the other calls are still running,
/// and waiting for any of them takes at least 900 ms more.
const PROMPTLY: Duration = Duration::from_millis(50);

/// Checks that no call other than the failed one ran to the end or is still running, right
/// after `load_dashboard` returned (or was dropped) and for 10 s of virtual time after that.
async fn nothing_left_running(backends: &FakeBackends, what: &str) {
    // A moment for the runtime to drop tasks that were aborted: an aborted task's future is
    // dropped the next time the runtime gets to it.
    sleep(Duration::from_millis(10)).await;
    let completed = backends.calls.completed();
    assert!(
        completed.is_empty(),
        "{what}, yet these calls still ran to the end, although nobody will ever read their \
         answers: {completed:?}. The other calls should have been cancelled, not awaited"
    );
    let in_flight = backends.calls.in_flight();
    assert!(
        in_flight.is_empty(),
        "{what}, but these calls were still running in the background afterwards: \
         {in_flight:?}. They were left running detached instead of being cancelled (dropped)"
    );
    // Nothing that was left running may finish later either.
    sleep(Duration::from_secs(10)).await;
    let completed = backends.calls.completed();
    assert!(
        completed.is_empty(),
        "{what}, and afterwards these calls ran to the end: {completed:?}. They were left \
         running detached instead of being cancelled"
    );
}

#[tokio::test(start_paused = true)]
async fn the_dashboard_shows_what_each_backend_returned() {
    let backends = FakeBackends::new(answers(200), answers(500), answers(300));

    let (result, _) = load(&backends).await;

    let dashboard = result.unwrap_or_else(|err| {
        panic!("load_dashboard failed although every backend answered: {err:#}")
    });
    assert!(
        dashboard
            == Dashboard {
                profile: profile(),
                orders: orders(),
                recommendations: recommendations(),
            },
        "the dashboard does not hold what the backends returned: {dashboard:?}"
    );
    let started = backends.calls.started();
    assert!(
        started == ["orders", "profile", "recommendations"],
        "load_dashboard should call each backend once, but the calls made were {started:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_dashboard_takes_as_long_as_the_slowest_backend() {
    for &(profile_ms, orders_ms, recommendations_ms) in HEALTHY {
        let backends = FakeBackends::new(
            answers(profile_ms),
            answers(orders_ms),
            answers(recommendations_ms),
        );

        let (result, elapsed) = load(&backends).await;

        if let Err(err) = result {
            panic!("load_dashboard failed although every backend answered: {err:#}");
        }
        let slowest = Duration::from_millis(profile_ms.max(orders_ms).max(recommendations_ms));
        let sum = Duration::from_millis(profile_ms + orders_ms + recommendations_ms);
        assert!(
            elapsed <= slowest + Duration::from_millis(10),
            "load_dashboard took {elapsed:?} of virtual time for profile, orders and \
             recommendations calls of {profile_ms} ms, {orders_ms} ms and {recommendations_ms} \
             ms: {}. The calls are independent, so the page should wait only as long as the \
             slowest one, {slowest:?}",
            if elapsed >= sum {
                "the sum of the three, so they ran one after another"
            } else {
                "more than the slowest of them, so they did not all run at once"
            }
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_backend_fails_the_dashboard_at_once() {
    for (down, backends) in one_backend_down() {
        let (result, elapsed) = load(&backends).await;

        let Err(err) = result else {
            panic!("load_dashboard succeeded although the {down} backend failed");
        };
        let chain = format!("{err:#}");
        assert!(
            chain.contains(ROOT_CAUSE) && chain.contains(&format!("{down} backend")),
            "the {down} backend failed with {ROOT_CAUSE:?}, but load_dashboard's error does not \
             carry that failure: {chain:?}"
        );
        assert!(
            elapsed <= FAILS_AT + PROMPTLY,
            "the {down} backend failed after {FAILS_AT:?}, yet load_dashboard returned the \
             error only after {elapsed:?} of virtual time: it waited for calls whose answers \
             the error page throws away. Fail fast: return the first error as soon as it \
             happens, whichever call it comes from"
        );
    }

    // Two failures: the one that happens first is the one the user gets, at once.
    let backends = FakeBackends::new(answers(2_000), fails_after(300), fails_after(100));
    let (result, elapsed) = load(&backends).await;
    let Err(err) = result else {
        panic!("load_dashboard succeeded although two backends failed");
    };
    let chain = format!("{err:#}");
    assert!(
        chain.contains("recommendations backend") && elapsed <= FAILS_AT + PROMPTLY,
        "recommendations failed after 100 ms and orders after 300 ms, but load_dashboard \
         returned {chain:?} after {elapsed:?}: the first failure should come back as soon as it \
         happens"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_backend_cancels_the_other_calls() {
    for (down, backends) in one_backend_down() {
        let (result, _) = load(&backends).await;
        assert!(
            result.is_err(),
            "load_dashboard succeeded although the {down} backend failed"
        );

        let what = format!(
            "the {down} backend failed after {FAILS_AT:?} and load_dashboard returned its error"
        );
        nothing_left_running(&backends, &what).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_dashboard_cancels_its_calls() {
    // The user closes the tab: the request handler drops the page's future after 300 ms, while
    // the calls take 1 s, 2 s and 3 s.
    let backends = FakeBackends::new(answers(1_000), answers(2_000), answers(3_000));

    let gave_up = timeout(Duration::from_millis(300), load_dashboard(&backends, USER)).await;
    assert!(
        gave_up.is_err(),
        "load_dashboard returned within 300 ms although its calls take 1 s, 2 s and 3 s"
    );

    nothing_left_running(
        &backends,
        "the caller gave up on the dashboard after 300 ms and dropped its future",
    )
    .await;
}
