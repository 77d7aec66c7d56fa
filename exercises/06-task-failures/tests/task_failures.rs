//! Every test runs on a paused clock: a fake dump "takes" its time in virtual time, so the tests
//! take microseconds. Each test runs `backup_all` in a task of its own, the way a scheduler
//! would, so that a panic escaping from `backup_all` is caught and reported instead of crashing
//! the test.
//!
//! The property: every worker's failure reaches the caller. Whichever database's dump fails or
//! panics, wherever it is in the list and however long it takes, `backup_all` returns an `Err`
//! (it never panics, never returns `Ok`) that names that database, and no other, and keeps the
//! cause as the error's source, not as pasted text.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use task_failures::backup_all;
use tokio::time::{sleep, timeout};

/// The databases to back up, with how long each dump takes. The quickest is second, the
/// slowest first, so the one that goes wrong is sometimes done first, sometimes last.
const DATABASES: &[(&str, u64)] = &[
    ("users", 300),
    ("orders", 100),
    ("billing", 200),
    ("inventory", 250),
];

/// What a broken dump reports: a typed error, the way a database driver reports one. Like most
/// low-level errors, it does not say which database it was about: only the code that started
/// the worker knows that.
#[derive(Debug)]
struct DumpError;

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(ROOT_CAUSE)
    }
}

impl std::error::Error for DumpError {}

const ROOT_CAUSE: &str = "connection reset by peer";

/// What a crashing dump panics with. It does not name the database either.
const PANIC_MESSAGE: &str = "simulated crash of a dump: corrupt page header at offset 4096";

/// Far longer than any dump takes (300 ms at most).
const PATIENCE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Fails,
    Panics,
}

type Dump = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// A fake backup service: each dump takes its time, then is recorded as finished. The dump of
/// `broken` (if any) fails or panics as told.
#[derive(Clone)]
struct FakeBackup {
    broken: Option<(&'static str, Outcome)>,
    finished: Arc<Mutex<Vec<String>>>,
}

impl FakeBackup {
    fn healthy() -> FakeBackup {
        FakeBackup {
            broken: None,
            finished: Arc::default(),
        }
    }

    fn broken(database: &'static str, outcome: Outcome) -> FakeBackup {
        FakeBackup {
            broken: Some((database, outcome)),
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
                match fake.broken {
                    Some((broken, Outcome::Fails)) if broken == database => {
                        return Err(DumpError.into());
                    }
                    // The simulated crash: the worker's task panics.
                    Some((broken, Outcome::Panics)) if broken == database => {
                        panic!("{PANIC_MESSAGE}")
                    }
                    _ => {}
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

thread_local! {
    /// Set while `backup_all` runs: the simulated crashes (and a panic of `backup_all` itself,
    /// which the test reports in its own words) print nothing, so a failing test shows its own
    /// message first.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Installs, once per test process, a panic hook that is silent while `QUIET` is set on the
/// panicking thread. The tests run on the current-thread runtime, so the workers' panics happen
/// on the test's own thread.
fn silence_expected_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let print = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                print(info);
            }
        }));
    });
}

/// Runs `backup_all` over every database in a task of its own, as a scheduler would, for at
/// most `PATIENCE` of virtual time. Fails the test if `backup_all` itself panics.
async fn run(fake: &FakeBackup) -> anyhow::Result<()> {
    silence_expected_panics();
    QUIET.with(|quiet| quiet.set(true));
    let run = tokio::spawn(backup_all(databases(), fake.backup()));
    let outcome = timeout(PATIENCE, run).await;
    QUIET.with(|quiet| quiet.set(false));

    match outcome {
        Err(_) => panic!(
            "backup_all did not return within 60 s of virtual time, although no dump takes \
             more than 300 ms: it is stuck"
        ),
        Ok(Err(crash)) if crash.is_panic() => {
            let payload = crash.into_panic();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(not a string)");
            panic!(
                "backup_all itself panicked: a worker's panic escaped into the caller, so one \
                 crashed dump takes the whole nightly run down with it. A crashed worker should \
                 become an Err that names its database. (backup_all's panic: {message})"
            )
        }
        Ok(Err(crash)) => panic!("the task running backup_all was cancelled: {crash}"),
        Ok(Ok(result)) => result,
    }
}

/// Checks that `chain` (an error's `{:#}`) names `database` and no other database.
fn names_only(chain: &str, database: &str, what: &str) {
    let others: Vec<&str> = DATABASES
        .iter()
        .map(|&(name, _)| name)
        .filter(|&name| name != database && chain.contains(name))
        .collect();
    assert!(
        chain.contains(database) || !others.is_empty(),
        "the {database} {what}, and backup_all returned an error, but it does not say which \
         database it was: {chain:?}. Neither the worker's error nor the JoinError can know; the \
         code that spawned the worker does"
    );
    assert!(
        chain.contains(database),
        "the {database} {what}, but backup_all's error blames {others:?} instead: {chain:?}. \
         Is each worker's result matched with the database that worker was backing up?"
    );
    assert!(
        others.is_empty(),
        "the {database} {what}, but backup_all's error also names {others:?}, whose dumps did \
         not fail: {chain:?}. It must say which database went wrong, not list the candidates"
    );
}

#[tokio::test(start_paused = true)]
async fn backup_all_succeeds_when_every_dump_succeeds() {
    let fake = FakeBackup::healthy();

    if let Err(err) = run(&fake).await {
        panic!("backup_all returned an error although every dump succeeded: {err:#}");
    }
    let finished = fake.finished();
    assert!(
        finished == ["billing", "inventory", "orders", "users"],
        "backup_all returned Ok when only {finished:?} had finished: it must wait for every \
         worker"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_dump_is_an_error_naming_its_database() {
    for &(database, _) in DATABASES {
        let fake = FakeBackup::broken(database, Outcome::Fails);

        let Err(err) = run(&fake).await else {
            panic!(
                "backup_all returned Ok(()) although the {database} dump failed with \
                 {ROOT_CAUSE:?}: the worker's Err was thrown away, so a failed backup is \
                 reported as a success"
            );
        };
        let chain = format!("{err:#}");
        names_only(&chain, database, "dump failed");
        assert!(
            chain.contains(ROOT_CAUSE),
            "backup_all's error names the database but lost the root cause {ROOT_CAUSE:?}: \
             {chain:?}. Wrap the worker's error instead of replacing it"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_dump_keeps_its_error_as_the_source() {
    for database in ["orders", "users"] {
        let fake = FakeBackup::broken(database, Outcome::Fails);

        let Err(err) = run(&fake).await else {
            panic!(
                "backup_all returned Ok(()) although the {database} dump failed with \
                 {ROOT_CAUSE:?}: the worker's Err was thrown away"
            );
        };
        let kept = err
            .chain()
            .any(|cause| cause.downcast_ref::<DumpError>().is_some());
        assert!(
            kept,
            "the {database} dump failed with a DumpError, but that error is not in the chain of \
             backup_all's error ({:?}): its text may have been copied into a new message, but \
             the error itself is gone, so a caller can no longer inspect the cause \
             (`err.chain()`, `downcast_ref`). Keep the worker's error as the source of the one \
             backup_all returns",
            err.chain().map(|e| e.to_string()).collect::<Vec<_>>()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_crashed_dump_is_an_error_not_a_crash_of_the_caller() {
    for &(database, _) in DATABASES {
        let fake = FakeBackup::broken(database, Outcome::Panics);

        let Err(err) = run(&fake).await else {
            panic!(
                "backup_all returned Ok(()) although the {database} worker panicked with \
                 {PANIC_MESSAGE:?}: the crash was swallowed, so a failed backup is reported as \
                 a success"
            );
        };
        let chain = format!("{err:#}");
        names_only(&chain, database, "worker panicked");
        assert!(
            chain.to_lowercase().contains("panic") || chain.contains(PANIC_MESSAGE),
            "backup_all's error names the database but not what happened: {chain:?}. Say that \
             the worker panicked (the JoinError says so, and carries the panic message)"
        );
    }
}
