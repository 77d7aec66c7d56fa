//! Every test runs on a current-thread runtime (what `#[tokio::test]` gives you): one thread runs
//! every task, the handler's and the test's. A task gives the thread back only at an `.await`
//! that is pending. So the tests check whether the slow parts of a handler leave that thread free
//! for other tasks while they run: the hash (another task must get a turn while it is in
//! progress) and the pause (another task's timer must fire during it). If they do not, in
//! production every other request on that runtime waits with them.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use blocking_the_runtime::{Accounts, NameTaken, PasswordHasher};
use tokio::sync::mpsc;
use tokio::time::{sleep, Instant};

/// The pause before a failed log-in answers, in these tests. Virtual time under `start_paused`;
/// the untouched code sleeps it for real, so it is short.
const FAILED_LOGIN_DELAY: Duration = Duration::from_millis(50);

/// How long (real time) a hash in progress waits for another task on the runtime to get a turn.
/// A runtime whose thread is free gives it one within microseconds, so a correct handler never
/// comes near this. It only bounds how long a handler that holds the runtime's thread takes to
/// fail, instead of hanging for ever.
const TURN_PATIENCE: Duration = Duration::from_secs(2);

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

/// What a hash in progress saw of the runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// The hash ran on the runtime's own thread: nothing else could run until it was done.
    OnTheRuntimeThread,
    /// The hash ran elsewhere, and another task on the runtime had a turn while it was running.
    OtherTaskRan,
    /// The hash ran elsewhere, but no other task on the runtime got a turn while it was running.
    RuntimeHeld,
}

/// A hasher that checks, while each hash is in progress, that the runtime is still free.
///
/// A hash on the runtime's own thread holds it, and is seen at once from the thread id. A hash
/// anywhere else asks a task on the runtime to answer, and only finishes once it has (or after
/// `TURN_PATIENCE`): if the handler gave the thread back while it waits for the hash, that task
/// answers at once; if the handler holds the thread until the hash is done, it cannot.
#[derive(Clone)]
struct RuntimeProbe {
    runtime_thread: ThreadId,
    armed: Arc<AtomicBool>,
    /// Reaches the answering task on the runtime.
    questions: mpsc::UnboundedSender<std_mpsc::Sender<()>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl RuntimeProbe {
    /// Starts the answering task. Must be called from inside the test's runtime. The probe is
    /// armed: every hash is checked until `disarm`.
    fn start() -> Self {
        let (questions, mut asked) = mpsc::unbounded_channel::<std_mpsc::Sender<()>>();
        tokio::spawn(async move {
            while let Some(answer) = asked.recv().await {
                let _ = answer.send(());
            }
        });
        RuntimeProbe {
            runtime_thread: thread::current().id(),
            armed: Arc::new(AtomicBool::new(true)),
            questions,
            seen: Arc::default(),
        }
    }

    fn arm(&self, armed: bool) {
        self.armed.store(armed, Ordering::SeqCst);
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl PasswordHasher for RuntimeProbe {
    fn hash(&self, password: &str, salt: u64) -> u64 {
        if self.armed.load(Ordering::SeqCst) {
            let seen = if thread::current().id() == self.runtime_thread {
                Seen::OnTheRuntimeThread
            } else {
                let (answer, answered) = std_mpsc::channel();
                // Should the answering task be gone, `answer` is dropped and the wait ends.
                let _ = self.questions.send(answer);
                match answered.recv_timeout(TURN_PATIENCE) {
                    Ok(()) => Seen::OtherTaskRan,
                    Err(_) => Seen::RuntimeHeld,
                }
            };
            self.seen.lock().unwrap().push(seen);
        }
        quick_hash(password, salt)
    }
}

fn assert_runtime_stayed_free(handler: &str, seen: &[Seen]) {
    assert!(
        !seen.is_empty(),
        "{handler} never called the password hasher, but it must hash the password"
    );
    let on_runtime = seen
        .iter()
        .filter(|&&s| s == Seen::OnTheRuntimeThread)
        .count();
    assert!(
        on_runtime == 0,
        "{handler} hashed the password on the runtime's own thread ({on_runtime} of {total} \
         hasher calls): while a hash runs there, no other task on this runtime gets a turn. An \
         async fn gives the thread back only at a pending `.await`, so in production every other \
         request on this runtime waits out every hash",
        total = seen.len()
    );
    let held = seen.iter().filter(|&&s| s == Seen::RuntimeHeld).count();
    assert!(
        held == 0,
        "{handler} hashed the password on another thread, but held the runtime's thread until \
         the hash was done ({held} of {total} hasher calls): from inside the hash, another task on \
         the runtime was asked to answer and got no turn within {TURN_PATIENCE:?} (a free runtime \
         answers within microseconds). Waiting for the other thread in a way that does not give \
         the runtime's thread back blocks every other request just as hashing on it does: the \
         handler must await the result",
        total = seen.len()
    );
}

#[tokio::test]
async fn register_lets_other_tasks_run_while_it_hashes() {
    let hasher = RuntimeProbe::start();
    let accounts = Accounts::new(hasher.clone(), FAILED_LOGIN_DELAY);

    let registered = accounts.register("ada", "correct horse").await;

    assert_eq!(
        registered,
        Ok(()),
        "register(\"ada\") failed on an empty service"
    );
    assert_runtime_stayed_free("register", &hasher.seen());
}

#[tokio::test]
async fn log_in_lets_other_tasks_run_while_it_hashes() {
    let hasher = RuntimeProbe::start();
    let accounts = Accounts::new(hasher.clone(), FAILED_LOGIN_DELAY);
    hasher.arm(false);
    accounts
        .register("ada", "correct horse")
        .await
        .expect("register(\"ada\") failed on an empty service");

    hasher.arm(true);
    let logged_in = accounts.log_in("ada", "correct horse").await;

    assert!(logged_in, "log_in rejected ada's right password");
    assert_runtime_stayed_free("log_in", &hasher.seen());
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

    let start = Instant::now();
    let logged_in = accounts.log_in("ada", "wrong password").await;
    let elapsed = start.elapsed();

    assert!(!logged_in, "log_in accepted a wrong password");
    assert!(
        other_ran.load(Ordering::SeqCst),
        "another task whose timer was due {timer:?} into the {FAILED_LOGIN_DELAY:?} pause of a \
         failed log-in had not run when log_in answered, and Tokio's clock moved only \
         {elapsed:?} during the log-in: the pause did not wait on a Tokio timer, so no timer of \
         any other task could come due during it. A sleep that blocks a thread is invisible to \
         Tokio's clock, and on the runtime's thread it also stops every other request"
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
         that blocks a thread is not a Tokio timer, and Tokio's clock does not see it"
    );
}

#[tokio::test(start_paused = true)]
async fn failed_log_ins_at_once_pause_side_by_side() {
    let accounts = Accounts::new(QuickHasher, FAILED_LOGIN_DELAY);
    // Four guesses at once. Nobody has an account, so no password is hashed: only the pauses
    // take time.
    let start = Instant::now();
    let (a, b, c, d) = tokio::join!(
        accounts.log_in("mallory", "letmein"),
        accounts.log_in("mallory", "hunter2"),
        accounts.log_in("eve", "password"),
        accounts.log_in("trudy", "123456"),
    );
    let elapsed = start.elapsed();
    let answers = [a, b, c, d];

    assert!(
        answers.iter().all(|&ok| !ok),
        "log_in accepted a user who has no account: {answers:?}"
    );
    let n = answers.len();
    assert!(
        elapsed >= FAILED_LOGIN_DELAY,
        "{n} failed log-ins at the same time answered after {elapsed:?} on Tokio's clock, \
         before their {FAILED_LOGIN_DELAY:?} pause was over: the pause did not wait on a Tokio \
         timer"
    );
    assert!(
        elapsed < FAILED_LOGIN_DELAY * 2,
        "{n} failed log-ins at the same time took {elapsed:?} on Tokio's clock, {:.1} pauses \
         of {FAILED_LOGIN_DELAY:?}: they paused one after another. A pause must hold up only \
         the request that failed, so the pauses of requests that fail together overlap, and \
         every one of them answers after about {FAILED_LOGIN_DELAY:?}",
        elapsed.as_secs_f64() / FAILED_LOGIN_DELAY.as_secs_f64()
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
