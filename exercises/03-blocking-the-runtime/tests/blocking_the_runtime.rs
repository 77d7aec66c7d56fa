//! Every test runs on a current-thread runtime (what `#[tokio::test]` gives you): one thread runs
//! every task, the handler's and the test's. A task gives the thread back only at an `.await`
//! that is pending. So the tests check whether the slow part of a handler runs on that thread
//! (the hash: its thread is noted) or holds it (the pause: another task's timer must fire during
//! it). If it does, in production every other request on that runtime waits with it.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use blocking_the_runtime::{Accounts, NameTaken, PasswordHasher};
use tokio::time::{sleep, Instant};

/// The pause before a failed log-in answers, in these tests. Virtual time under `start_paused`;
/// the untouched code sleeps it for real, so it is short.
const FAILED_LOGIN_DELAY: Duration = Duration::from_millis(50);

/// A stand-in for a slow hash, cheap to compute and the same for the same input.
fn quick_hash(password: &str, salt: u64) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one((password, salt))
}

/// A hasher that returns at once.
struct QuickHasher;

impl PasswordHasher for QuickHasher {
    fn hash(&self, password: &str, salt: u64) -> u64 {
        quick_hash(password, salt)
    }
}

/// A hasher that notes which thread each hash ran on.
///
/// On a current-thread runtime one thread runs every task. A hash that runs on that thread holds
/// it: no other task can run until the hash is done. A hash that runs anywhere else (a blocking
/// pool thread, a thread of its own) leaves the runtime free. Comparing thread ids sees this
/// exactly, with no timing involved.
#[derive(Clone)]
struct ThreadProbe {
    runtime_thread: ThreadId,
    /// One entry per call: whether the hash ran on the runtime's thread.
    on_runtime_thread: Arc<Mutex<Vec<bool>>>,
}

impl ThreadProbe {
    /// Must be created from inside the test's runtime.
    fn new() -> Self {
        ThreadProbe {
            runtime_thread: thread::current().id(),
            on_runtime_thread: Arc::default(),
        }
    }

    fn calls(&self) -> Vec<bool> {
        self.on_runtime_thread.lock().unwrap().clone()
    }

    fn forget_calls(&self) {
        self.on_runtime_thread.lock().unwrap().clear();
    }
}

impl PasswordHasher for ThreadProbe {
    fn hash(&self, password: &str, salt: u64) -> u64 {
        let here = thread::current().id() == self.runtime_thread;
        self.on_runtime_thread.lock().unwrap().push(here);
        quick_hash(password, salt)
    }
}

fn assert_hashed_off_the_runtime_thread(handler: &str, calls: &[bool]) {
    assert!(
        !calls.is_empty(),
        "{handler} never called the password hasher, but it must hash the password"
    );
    let blocked = calls.iter().filter(|&&on_runtime| on_runtime).count();
    assert!(
        blocked == 0,
        "{handler} hashed the password on the runtime's own thread ({blocked} of {total} hasher \
         calls): while a hash runs there, no other task on this runtime gets a turn. An async fn \
         gives the thread back only at a pending `.await`, so in production every other request \
         on this runtime waits out every hash",
        total = calls.len()
    );
}

#[tokio::test]
async fn register_lets_other_tasks_run_while_it_hashes() {
    let hasher = ThreadProbe::new();
    let accounts = Accounts::new(hasher.clone(), FAILED_LOGIN_DELAY);

    let registered = accounts.register("ada", "correct horse").await;

    assert_eq!(
        registered,
        Ok(()),
        "register(\"ada\") failed on an empty service"
    );
    assert_hashed_off_the_runtime_thread("register", &hasher.calls());
}

#[tokio::test]
async fn log_in_lets_other_tasks_run_while_it_hashes() {
    let hasher = ThreadProbe::new();
    let accounts = Accounts::new(hasher.clone(), FAILED_LOGIN_DELAY);
    accounts
        .register("ada", "correct horse")
        .await
        .expect("register(\"ada\") failed on an empty service");

    hasher.forget_calls();
    let logged_in = accounts.log_in("ada", "correct horse").await;

    assert!(logged_in, "log_in rejected ada's right password");
    assert_hashed_off_the_runtime_thread("log_in", &hasher.calls());
}

#[tokio::test(start_paused = true)]
async fn a_failed_log_in_pauses_without_blocking_other_tasks() {
    let accounts = Accounts::new(QuickHasher, FAILED_LOGIN_DELAY);
    accounts
        .register("ada", "correct horse")
        .await
        .expect("register(\"ada\") failed on an empty service");

    // Another request's task, with a timer that is due halfway through the pause.
    let timer = FAILED_LOGIN_DELAY / 2;
    let other_ran = Arc::new(AtomicBool::new(false));
    tokio::spawn({
        let other_ran = Arc::clone(&other_ran);
        async move {
            sleep(timer).await;
            other_ran.store(true, Ordering::SeqCst);
        }
    });

    let logged_in = accounts.log_in("ada", "wrong password").await;

    assert!(!logged_in, "log_in accepted a wrong password");
    assert!(
        other_ran.load(Ordering::SeqCst),
        "another task whose timer was due {timer:?} into the {FAILED_LOGIN_DELAY:?} pause of a \
         failed log-in never ran before log_in answered: the pause held the thread instead of \
         waiting on a Tokio timer, so neither the other task nor Tokio's clock could move. In \
         production every other request on this runtime waits out every failed log-in"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_log_in_answers_only_after_the_pause() {
    let accounts = Accounts::new(QuickHasher, FAILED_LOGIN_DELAY);
    accounts
        .register("ada", "correct horse")
        .await
        .expect("register(\"ada\") failed on an empty service");

    let start = Instant::now();
    let logged_in = accounts.log_in("ada", "wrong password").await;
    let elapsed = start.elapsed();

    assert!(!logged_in, "log_in accepted a wrong password");
    assert!(
        elapsed >= FAILED_LOGIN_DELAY,
        "a failed log-in answered after {elapsed:?} on Tokio's clock, but it must pause \
         {FAILED_LOGIN_DELAY:?} first: the pause is what slows down password guessing. A pause \
         that blocks a thread (the standard library's `thread::sleep`, on the runtime thread or in spawn_blocking) \
         is not a Tokio timer, and Tokio's clock does not see it"
    );
}

#[tokio::test(start_paused = true)]
async fn log_in_accepts_only_the_right_password() {
    let accounts = Accounts::new(QuickHasher, FAILED_LOGIN_DELAY);
    assert_eq!(
        accounts.register("ada", "correct horse").await,
        Ok(()),
        "register(\"ada\") failed on an empty service"
    );
    assert_eq!(
        accounts.register("grace", "battery staple").await,
        Ok(()),
        "register(\"grace\") failed, although only ada has an account"
    );
    assert_eq!(
        accounts.register("ada", "another password").await,
        Err(NameTaken),
        "a second register(\"ada\") must fail with NameTaken"
    );

    let start = Instant::now();
    assert!(
        accounts.log_in("ada", "correct horse").await,
        "log_in rejected ada's right password"
    );
    let elapsed = start.elapsed();
    assert!(
        elapsed < FAILED_LOGIN_DELAY,
        "a successful log-in took {elapsed:?} on Tokio's clock: only failed log-ins should pause"
    );
    assert!(
        accounts.log_in("grace", "battery staple").await,
        "log_in rejected grace's right password"
    );
    assert!(
        !accounts.log_in("ada", "battery staple").await,
        "log_in accepted grace's password for ada"
    );
    assert!(
        !accounts.log_in("alan", "correct horse").await,
        "log_in accepted a user who has no account"
    );
    assert!(
        accounts.log_in("ada", "correct horse").await,
        "after a failed attempt, log_in rejected ada's right password"
    );
}
