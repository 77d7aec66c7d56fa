//! Every test runs on a paused clock (`start_paused = true`). Each request is awaited through
//! `outcome`, which tells three endings apart: an answer (the `Result` the handle returned), a
//! panic in the caller (caught, so the test can say what happened), and no answer at all within
//! 60 s of virtual time, which under a paused clock costs no real time.

use std::any::Any;
use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Once;
use std::time::Duration;

use actors::{Ledger, LedgerError};
use futures::future::join_all;
use futures::FutureExt;
use tokio::runtime::Handle;
use tokio::time::{sleep, timeout};

/// Far longer than the ledger ever needs to answer (it never waits on a timer).
const PATIENCE: Duration = Duration::from_secs(60);

/// Long enough for the actor to take what is in its queue (it never waits on a timer).
const A_MOMENT: Duration = Duration::from_millis(1);

/// How one request ended, seen from the caller.
#[derive(Debug)]
enum Outcome {
    Answered(Result<u64, LedgerError>),
    Panicked(String),
    NoAnswer,
}

thread_local! {
    /// Set while `outcome` polls a request whose panic it catches and reports itself.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
}

/// Keeps the panic hook quiet for panics that `outcome` catches: the test reports them in its own
/// message, so printing them first would only bury that message. Other panics print as usual.
fn quiet_caught_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(Cell::get) {
                default(info);
            }
        }));
    });
}

struct Catching;

impl Catching {
    fn start() -> Catching {
        CATCHING.with(|c| c.set(true));
        Catching
    }
}

impl Drop for Catching {
    fn drop(&mut self) {
        CATCHING.with(|c| c.set(false));
    }
}

async fn outcome(request: impl Future<Output = Result<u64, LedgerError>>) -> Outcome {
    quiet_caught_panics();
    let mut request = pin!(AssertUnwindSafe(request).catch_unwind());
    let caught = poll_fn(|cx| {
        let _catching = Catching::start();
        request.as_mut().poll(cx)
    });
    match timeout(PATIENCE, caught).await {
        Ok(Ok(result)) => Outcome::Answered(result),
        Ok(Err(panic)) => Outcome::Panicked(panic_message(&*panic)),
        Err(_) => Outcome::NoAnswer,
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else if let Some(message) = panic.downcast_ref::<&str>() {
        message.to_string()
    } else {
        "a panic without a message".to_string()
    }
}

/// Awaits a request that must get an answer. `what` describes the request for the messages.
async fn answer(
    what: &str,
    request: impl Future<Output = Result<u64, LedgerError>>,
) -> Result<u64, LedgerError> {
    match outcome(request).await {
        Outcome::Answered(result) => result,
        Outcome::Panicked(message) => panic!(
            "{what}: the caller panicked ({message:?}) instead of getting a Result. Every request \
             must be answered, and a caller must get an Err, never a panic, when the ledger cannot \
             serve it"
        ),
        Outcome::NoAnswer => panic!(
            "{what}: no answer after 60 s of virtual time, the caller would wait forever. Every \
             request must be answered"
        ),
    }
}

/// How many tasks are alive on the test's runtime.
fn alive_tasks() -> usize {
    Handle::current().metrics().num_alive_tasks()
}

#[tokio::test(start_paused = true)]
async fn deposits_and_withdrawals_update_the_balance() {
    let ledger = Ledger::spawn();

    let unknown = || Err(LedgerError::UnknownAccount("carol".to_string()));
    let steps = [
        (
            "deposit(alice, 100)",
            ledger.deposit("alice", 100).boxed(),
            Ok(100),
        ),
        (
            "withdraw(alice, 30)",
            ledger.withdraw("alice", 30).boxed(),
            Ok(70),
        ),
        ("deposit(bob, 5)", ledger.deposit("bob", 5).boxed(), Ok(5)),
        ("balance(alice)", ledger.balance("alice").boxed(), Ok(70)),
        ("balance(carol)", ledger.balance("carol").boxed(), unknown()),
        (
            "withdraw(carol, 1)",
            ledger.withdraw("carol", 1).boxed(),
            unknown(),
        ),
    ];
    // One after another, in this order.
    for (what, request, expected) in steps {
        let got = answer(what, request).await;
        assert_eq!(got, expected, "{what} returned the wrong result");
    }
}

#[tokio::test(start_paused = true)]
async fn an_overdraft_is_refused_with_an_error() {
    let ledger = Ledger::spawn();

    // (account, its balance, the withdrawal asked for): just over, far over, from an empty account.
    let cases = [
        ("alice", 30, 50),
        ("bob", 100, 101),
        ("carol", 7, 1_000_000),
        ("dave", 0, 1),
    ];
    for (account, balance, requested) in cases {
        answer(
            &format!("deposit({account}, {balance})"),
            ledger.deposit(account, balance),
        )
        .await
        .expect("depositing into a new account must succeed");

        let what = format!("withdraw({account}, {requested}) from a balance of {balance}");
        let refused = answer(&what, ledger.withdraw(account, requested)).await;
        let after = answer(
            &format!("balance({account}) after a refused withdrawal"),
            ledger.balance(account),
        )
        .await;
        match refused {
            Err(LedgerError::InsufficientFunds {
                balance: b,
                requested: r,
            }) if b == balance && r == requested => {}
            Err(LedgerError::ActorGone) => panic!(
                "{what} returned Err(ActorGone), but the ledger had not stopped (it answered the \
                 next request with {after:?}): the actor refused the withdrawal without \
                 answering, and the caller turned the missing answer into ActorGone. The caller \
                 should hear why: InsufficientFunds {{ balance: {balance}, requested: {requested} }}"
            ),
            other => panic!(
                "{what} must be refused with Err(InsufficientFunds {{ balance: {balance}, \
                 requested: {requested} }}), but it returned {other:?}"
            ),
        }
        assert_eq!(
            after,
            Ok(balance),
            "a refused withdrawal must leave the balance as it was ({balance})"
        );
    }

    // A refusal is not the end: the account still works, and its whole balance can be taken.
    let again = answer(
        "a second withdraw(alice, 50) from a balance of 30",
        ledger.withdraw("alice", 50),
    )
    .await;
    assert!(
        matches!(
            again,
            Err(LedgerError::InsufficientFunds {
                balance: 30,
                requested: 50
            })
        ),
        "the same overdraft, asked a second time, must be refused the same way, but it returned \
         {again:?}"
    );
    let all = answer(
        "withdraw(alice, 30) from a balance of 30",
        ledger.withdraw("alice", 30),
    )
    .await;
    assert_eq!(
        all,
        Ok(0),
        "withdrawing exactly the balance (30 of 30) must be paid and leave 0"
    );
}

#[tokio::test(start_paused = true)]
async fn every_concurrent_withdrawal_gets_an_answer() {
    let ledger = Ledger::spawn();

    // (account, deposit, callers at once, each withdrawing): the actor serves them one at a time,
    // so exactly deposit / amount of them can be paid (at most all of them) and the rest refused.
    let rounds: [(&str, u64, u64, u64); 4] = [
        ("alice", 100, 10, 20),
        ("bob", 100, 7, 30),
        ("carol", 50, 4, 60),
        ("dave", 90, 3, 30),
    ];
    for (account, deposit, callers, amount) in rounds {
        answer(
            &format!("deposit({account}, {deposit})"),
            ledger.deposit(account, deposit),
        )
        .await
        .expect("depositing into a new account must succeed");

        let scene = format!(
            "{callers} concurrent withdrawals of {amount} from {account}'s balance of {deposit}"
        );
        let outcomes =
            join_all((0..callers).map(|_| outcome(ledger.withdraw(account, amount)))).await;

        let panicked: Vec<&String> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Panicked(message) => Some(message),
                _ => None,
            })
            .collect();
        let unanswered = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::NoAnswer))
            .count();
        let panics = match panicked.first() {
            Some(message) => format!(" ({message:?})"),
            None => String::new(),
        };
        assert!(
            panicked.is_empty() && unanswered == 0,
            "{scene}: {} got an answer, {} callers panicked{panics} and {unanswered} never got \
             an answer. Every request must be answered, the refused ones too",
            outcomes.len() - panicked.len() - unanswered,
            panicked.len(),
        );

        let can_pay = (deposit / amount).min(callers);
        let paid = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Answered(Ok(_))))
            .count() as u64;
        let refused = outcomes
            .iter()
            .filter(|o| {
                matches!(
                    o,
                    Outcome::Answered(Err(LedgerError::InsufficientFunds { balance, requested }))
                        if *requested == amount && *balance < amount
                )
            })
            .count() as u64;
        assert!(
            paid == can_pay && refused == callers - can_pay,
            "{scene}: exactly {can_pay} can be paid and {} must be refused with \
             InsufficientFunds, but {paid} were reported paid and {refused} refused: \
             {outcomes:?}",
            callers - can_pay
        );
        let left = deposit - can_pay * amount;
        let balance = answer(&format!("balance({account})"), ledger.balance(account)).await;
        assert_eq!(
            balance,
            Ok(left),
            "after {scene}, {can_pay} paid, the balance must be {left}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_stops_waiting_does_not_break_the_ledger() {
    let ledger = Ledger::spawn();
    answer("deposit(alice, 10)", ledger.deposit("alice", 10))
        .await
        .expect("depositing into a new account must succeed");

    // Each request is sent, and then its caller gives up (a timed-out web request) before the
    // actor answers. The actor then has nobody to answer, which must not stop it.
    let abandoned = [
        (
            "withdraw(alice, 50) (an overdraft)",
            ledger.withdraw("alice", 50).boxed(),
        ),
        ("withdraw(alice, 5)", ledger.withdraw("alice", 5).boxed()),
        ("deposit(alice, 1)", ledger.deposit("alice", 1).boxed()),
        (
            "balance(bob) (an unknown account)",
            ledger.balance("bob").boxed(),
        ),
    ];
    for (what, request) in abandoned {
        let mut request = request;
        // One poll sends the request; then the caller is gone.
        if futures::poll!(request.as_mut()).is_ready() {
            continue;
        }
        drop(request);

        let next = outcome(ledger.balance("alice")).await;
        assert!(
            matches!(next, Outcome::Answered(Ok(_))),
            "{what}: its caller stopped waiting before the ledger answered; the next request, \
             balance(alice), then got {next:?}. A caller that goes away is routine (a \
             client disconnects, a request times out): the actor must carry on serving everyone \
             else, not stop because one answer had nobody to receive it"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn callers_get_an_error_once_the_ledger_has_stopped() {
    let ledger = Ledger::spawn();
    let handler = ledger.clone();
    answer("deposit(alice, 10)", ledger.deposit("alice", 10))
        .await
        .expect("depositing into a new account must succeed");

    ledger.shutdown().await;
    // Let the actor take the shutdown request and stop.
    sleep(A_MOMENT).await;

    let requests = [
        ("balance(alice)", handler.balance("alice").boxed()),
        ("deposit(alice, 5)", handler.deposit("alice", 5).boxed()),
        ("withdraw(alice, 5)", handler.withdraw("alice", 5).boxed()),
        ("withdraw(alice, 50)", handler.withdraw("alice", 50).boxed()),
    ];
    for (what, request) in requests {
        let got = outcome(request).await;
        match got {
            Outcome::Answered(Err(LedgerError::ActorGone)) => {}
            Outcome::Panicked(message) => panic!(
                "{what}, through a handle kept after the ledger had stopped, panicked \
                 ({message:?}) instead of returning Err(ActorGone): a caller that outlives the \
                 actor must get an error it can handle (say, answer 503), not crash"
            ),
            Outcome::NoAnswer => panic!(
                "{what}, through a handle kept after the ledger had stopped, never returned: \
                 with nobody left to answer, the caller must get Err(ActorGone) at once"
            ),
            Outcome::Answered(other) => panic!(
                "{what}, through a handle kept after the ledger had stopped, returned {other:?}: \
                 no actor is left to compute an answer, so the only true one is Err(ActorGone)"
            ),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_queued_as_the_ledger_stops_gets_an_answer() {
    let ledger = Ledger::spawn();
    let other = ledger.clone();
    answer("deposit(alice, 10)", ledger.deposit("alice", 10))
        .await
        .expect("depositing into a new account must succeed");

    // The shutdown request goes into the queue, and right behind it, before the actor has had a
    // chance to run, three more requests: they are in the queue when the actor stops.
    ledger.shutdown().await;
    let queued = join_all([
        outcome(ledger.balance("alice")).boxed(),
        outcome(other.deposit("alice", 5)).boxed(),
        outcome(other.withdraw("alice", 50)).boxed(),
    ])
    .await;

    let names = ["balance(alice)", "deposit(alice, 5)", "withdraw(alice, 50)"];
    for (what, got) in names.into_iter().zip(queued) {
        match got {
            // A ledger that serves what was queued before it stops is fine; so is ActorGone.
            Outcome::Answered(Err(LedgerError::ActorGone)) => {}
            Outcome::Answered(Ok(10 | 15))
            | Outcome::Answered(Err(LedgerError::InsufficientFunds { requested: 50, .. })) => {}
            Outcome::Panicked(message) => panic!(
                "{what}, sent just as the ledger was stopping, panicked ({message:?}): the actor \
                 stopped with the request still in its queue, which drops the request and its \
                 reply sender unanswered. The caller must get Err(ActorGone), not crash"
            ),
            Outcome::NoAnswer => panic!(
                "{what}, sent just as the ledger was stopping, never got an answer: the caller \
                 must get Err(ActorGone) (or the answer of a ledger that served it first)"
            ),
            Outcome::Answered(other) => panic!(
                "{what}, sent just as the ledger was stopping, returned {other:?}: it must be \
                 either what a running ledger would answer, or Err(ActorGone)"
            ),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_actor_task_ends_after_shutdown() {
    let before = alive_tasks();
    let ledger = Ledger::spawn();
    let handler = ledger.clone();
    answer("deposit(alice, 10)", ledger.deposit("alice", 10))
        .await
        .expect("depositing into a new account must succeed");

    ledger.shutdown().await;
    sleep(A_MOMENT).await;
    // A handle is still held (a web handler that outlives the ledger): that must not keep the
    // actor alive.
    let _ = outcome(handler.balance("alice")).await;
    sleep(A_MOMENT).await;

    let alive = alive_tasks().saturating_sub(before);
    assert_eq!(
        alive, 0,
        "after shutdown, {alive} task(s) that Ledger::spawn started were still running, while a \
         handle was kept. A ledger asked to stop must end its task, freeing its state and its \
         queue; one that only refuses requests from then on has not stopped, it keeps running \
         until the process exits"
    );
}

#[tokio::test(start_paused = true)]
async fn an_abandoned_ledger_ends_its_task() {
    let before = alive_tasks();
    let ledger = Ledger::spawn();
    let clones: Vec<Ledger> = (0..3).map(|_| ledger.clone()).collect();
    answer("deposit(alice, 10)", ledger.deposit("alice", 10))
        .await
        .expect("depositing into a new account must succeed");

    // Nobody can send it anything any more.
    drop(clones);
    drop(ledger);
    sleep(A_MOMENT).await;

    let alive = alive_tasks().saturating_sub(before);
    assert_eq!(
        alive, 0,
        "every Ledger handle was dropped, so nobody can send the actor a request, yet {alive} \
         task(s) that Ledger::spawn started were still running: an actor must end once the last \
         handle is gone"
    );
}
