//! Every test runs on a paused clock: a fake backend "takes" its latency in virtual time, so the
//! tests take microseconds and can measure exactly how long the page waited. The fake backends
//! also track every call: which are still in flight (a drop guard lives in each call's future)
//! and which ran to completion.

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

/// Every backend answers: profile in 200 ms, orders in 500 ms, recommendations in 300 ms.
fn healthy() -> FakeBackends {
    FakeBackends::new(answers(200), answers(500), answers(300))
}

/// The orders service is down: it fails after 100 ms, while the profile call takes 1 s and the
/// recommendations call 2 s.
fn orders_down() -> FakeBackends {
    FakeBackends::new(answers(1_000), fails_after(100), answers(2_000))
}

#[tokio::test(start_paused = true)]
async fn the_dashboard_shows_what_each_backend_returned() {
    let backends = healthy();

    let (result, _) = load(&backends).await;

    let dashboard = result.unwrap_or_else(|err| {
        panic!("load_dashboard failed although every backend answered: {err:#}")
    });
    assert_eq!(
        dashboard,
        Dashboard {
            profile: profile(),
            orders: orders(),
            recommendations: recommendations(),
        },
        "the dashboard does not hold what the backends returned"
    );
}

#[tokio::test(start_paused = true)]
async fn the_dashboard_takes_as_long_as_the_slowest_backend() {
    let backends = healthy();

    let (result, elapsed) = load(&backends).await;

    if let Err(err) = result {
        panic!("load_dashboard failed although every backend answered: {err:#}");
    }
    assert!(
        elapsed <= Duration::from_millis(550),
        "load_dashboard took {elapsed:?} of virtual time for calls of 200 ms, 500 ms and 300 ms: \
         {}. The calls are independent, so the page should wait only as long as the slowest \
         one, 500 ms",
        if elapsed >= Duration::from_secs(1) {
            "the sum of the three, so they ran one after another"
        } else {
            "more than the slowest of them, so they did not all run at once"
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_backend_fails_the_dashboard_at_once() {
    let backends = orders_down();

    let (result, elapsed) = load(&backends).await;

    let Err(err) = result else {
        panic!("load_dashboard succeeded although the orders backend failed");
    };
    let chain = format!("{err:#}");
    assert!(
        chain.contains(ROOT_CAUSE),
        "load_dashboard's error lost the root cause {ROOT_CAUSE:?} from the orders backend: \
         {chain:?}"
    );
    assert!(
        elapsed < Duration::from_millis(500),
        "the orders backend failed after 100 ms, yet load_dashboard returned the error only \
         after {elapsed:?} of virtual time: it waited for calls whose answers the error page \
         throws away. Fail fast: return the first error as soon as it happens"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_backend_cancels_the_other_calls() {
    let backends = orders_down();

    let (result, _) = load(&backends).await;
    assert!(
        result.is_err(),
        "load_dashboard succeeded although the orders backend failed"
    );

    // A moment for the runtime to drop tasks that were aborted (a JoinSet aborts on drop).
    sleep(Duration::from_millis(10)).await;
    let completed = backends.calls.completed();
    assert!(
        completed.is_empty(),
        "the orders backend failed after 100 ms, yet {completed:?} still ran to the end (the \
         profile takes 1 s, recommendations 2 s), although the error page never shows their \
         answers: on the first failure the sibling calls should be cancelled, not awaited"
    );
    let in_flight = backends.calls.in_flight();
    assert!(
        in_flight.is_empty(),
        "load_dashboard returned its error, but {in_flight:?} is still running in the \
         background: the sibling calls were left running detached instead of being cancelled \
         (dropped)"
    );

    // Nothing that was left running may finish later either.
    sleep(Duration::from_secs(10)).await;
    let completed = backends.calls.completed();
    assert!(
        completed.is_empty(),
        "{completed:?} ran to the end after load_dashboard had returned its error: the sibling \
         calls were left running detached instead of being cancelled"
    );
}
