//! Every test runs on a paused clock: a fake dump "takes" its time in virtual time, so the tests
//! take microseconds. Each test runs `backup_all` in a task of its own, the way a scheduler
//! would, so that a panic escaping from `backup_all` is caught and reported instead of crashing
//! the test.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use task_failures::backup_all;
use tokio::time::{sleep, timeout};

/// The databases to back up, with how long each dump takes. `orders` is the quickest, so when it
/// fails, the others are still running.
const DATABASES: &[(&str, u64)] = &[("users", 300), ("orders", 100), ("billing", 200)];

/// What the broken `orders` dump reports. Like most low-level errors, it does not say which
/// database it was about: only the code that started the worker knows that.
const ROOT_CAUSE: &str = "connection reset by peer";

/// What the crashing `orders` dump panics with. It does not name the database either. On the
/// untouched kata this panic shows up first in the test's output: it is the worker's (expected)
/// crash, and what matters is what `backup_all` does about it.
const PANIC_MESSAGE: &str = "simulated crash of a dump: corrupt page header at offset 4096";

/// Far longer than any dump takes (300 ms at most).
const PATIENCE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Orders {
    Succeeds,
    Fails,
    Panics,
}

type Dump = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// A fake backup service: each dump takes its time, then is recorded as finished. The `orders`
/// dump behaves as told.
#[derive(Clone)]
struct FakeBackup {
    orders: Orders,
    finished: Arc<Mutex<Vec<String>>>,
}

impl FakeBackup {
    fn new(orders: Orders) -> FakeBackup {
        FakeBackup {
            orders,
            finished: Arc::default(),
        }
    }

    /// The function `backup_all` calls to start one dump.
    fn backup(&self) -> impl Fn(String) -> Dump + Clone + Send + 'static {
        let fake = self.clone();
        move |database: String| {
            let fake = fake.clone();
            Box::pin(async move {
                let &(_, ms) = DATABASES
                    .iter()
                    .find(|(name, _)| *name == database)
                    .expect("backup_all was asked to back up a database nobody gave it");
                sleep(Duration::from_millis(ms)).await;
                if database == "orders" {
                    match fake.orders {
                        Orders::Succeeds => {}
                        Orders::Fails => anyhow::bail!(ROOT_CAUSE),
                        // The simulated crash: the worker's task panics.
                        Orders::Panics => panic!("{PANIC_MESSAGE}"),
                    }
                }
                fake.finished.lock().unwrap().push(database);
                Ok(())
            })
        }
    }

    /// The databases whose dump has finished successfully, sorted.
    fn finished(&self) -> Vec<String> {
        let mut finished = self.finished.lock().unwrap().clone();
        finished.sort();
        finished
    }
}

fn databases() -> Vec<String> {
    DATABASES.iter().map(|(name, _)| name.to_string()).collect()
}

/// Runs `backup_all` in a task of its own, as a scheduler would, for at most `PATIENCE` of
/// virtual time. Fails the test if `backup_all` itself panics.
async fn run(fake: &FakeBackup) -> anyhow::Result<()> {
    let run = tokio::spawn(backup_all(databases(), fake.backup()));
    match timeout(PATIENCE, run).await {
        Err(_) => panic!(
            "backup_all did not return within 60 s of virtual time, although no dump takes \
             more than 300 ms: it is stuck"
        ),
        Ok(Err(crash)) if crash.is_panic() => panic!(
            "backup_all itself panicked: a worker's panic escaped into the caller, so one \
             crashed dump takes the whole nightly run down with it. A crashed worker should \
             become an Err that names its database. The caller's panic was: {crash}"
        ),
        Ok(Err(crash)) => panic!("the task running backup_all was cancelled: {crash}"),
        Ok(Ok(result)) => result,
    }
}

#[tokio::test(start_paused = true)]
async fn backup_all_succeeds_when_every_dump_succeeds() {
    let fake = FakeBackup::new(Orders::Succeeds);

    if let Err(err) = run(&fake).await {
        panic!("backup_all returned an error although every dump succeeded: {err:#}");
    }
    assert_eq!(
        fake.finished(),
        ["billing", "orders", "users"],
        "backup_all returned Ok before every dump had finished: it must wait for every worker"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_dump_is_an_error_naming_its_database() {
    let fake = FakeBackup::new(Orders::Fails);

    let Err(err) = run(&fake).await else {
        panic!(
            "backup_all returned Ok(()) although the orders dump failed with {ROOT_CAUSE:?}: \
             the worker's Err was thrown away, so a failed backup is reported as a success"
        );
    };
    let chain = format!("{err:#}");
    assert!(
        chain.contains("orders"),
        "backup_all returned an error, but it does not say which database failed: {chain:?}. \
         The worker's error cannot know; the code that spawned the worker does, so it should \
         add that as context"
    );
    assert!(
        chain.contains(ROOT_CAUSE),
        "backup_all's error names the database but lost the root cause {ROOT_CAUSE:?}: \
         {chain:?}. Wrap the worker's error with context instead of replacing it"
    );
}

#[tokio::test(start_paused = true)]
async fn a_crashed_dump_is_an_error_not_a_crash_of_the_caller() {
    let fake = FakeBackup::new(Orders::Panics);

    let Err(err) = run(&fake).await else {
        panic!(
            "backup_all returned Ok(()) although the orders worker panicked with \
             {PANIC_MESSAGE:?}: the crash was swallowed, so a failed backup is reported as a \
             success"
        );
    };
    let chain = format!("{err:#}");
    assert!(
        chain.contains("orders"),
        "backup_all returned an error, but it does not say which database's worker crashed: \
         {chain:?}. The JoinError cannot know; the code that spawned the worker does, so it \
         should add that as context"
    );
    assert!(
        chain.to_lowercase().contains("panic") || chain.contains(PANIC_MESSAGE),
        "backup_all's error names the database but not what happened: {chain:?}. Say that the \
         worker panicked (the JoinError says so, and carries the panic message)"
    );
}
