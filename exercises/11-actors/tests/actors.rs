//! Every test runs on a paused clock (`start_paused = true`). Each request is awaited through
//! `outcome`, which tells three endings apart: an answer (the `Result` the handle returned), a
//! panic in the caller (caught, so the test can say what happened), and no answer at all within
//! 60 s of virtual time, which under a paused clock costs no real time.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::time::Duration;

use actors::{Ledger, LedgerError};
use futures::FutureExt;
use tokio::time::{sleep, timeout};

/// Far longer than the ledger ever needs to answer (it never waits on a timer).
const PATIENCE: Duration = Duration::from_secs(60);

/// How one request ended, seen from the caller.
#[derive(Debug)]
enum Outcome {
    Answered(Result<u64, LedgerError>),
    Panicked(String),
    NoAnswer,
}

async fn outcome(request: impl Future<Output = Result<u64, LedgerError>>) -> Outcome {
    match timeout(PATIENCE, AssertUnwindSafe(request).catch_unwind()).await {
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
    answer("deposit(alice, 30)", ledger.deposit("alice", 30))
        .await
        .expect("depositing into a new account must succeed");

    let refused = answer(
        "withdraw(alice, 50) from a balance of 30",
        ledger.withdraw("alice", 50),
    )
    .await;
    let balance = answer(
        "balance(alice) after a refused withdrawal",
        ledger.balance("alice"),
    )
    .await;

    match refused {
        Err(LedgerError::InsufficientFunds {
            balance: 30,
            requested: 50,
        }) => {}
        Err(LedgerError::ActorGone) => panic!(
            "withdraw(alice, 50) from a balance of 30 returned Err(ActorGone), but the ledger had \
             not stopped (it answered the next request with {balance:?}): the actor refused the \
             withdrawal without answering, and the caller turned the missing answer into \
             ActorGone. The caller should hear why: InsufficientFunds {{ balance: 30, requested: 50 }}"
        ),
        other => panic!(
            "withdraw(alice, 50) from a balance of 30 must be refused with \
             Err(InsufficientFunds {{ balance: 30, requested: 50 }}), but it returned {other:?}"
        ),
    }
    assert_eq!(
        balance,
        Ok(30),
        "a refused withdrawal must leave the balance as it was"
    );
}

#[tokio::test(start_paused = true)]
async fn every_concurrent_withdrawal_gets_an_answer() {
    let ledger = Ledger::spawn();
    answer("deposit(alice, 100)", ledger.deposit("alice", 100))
        .await
        .expect("depositing into a new account must succeed");

    // Ten callers at once, each taking 20: the actor serves them one at a time, so exactly five
    // can be paid and five must be refused.
    let outcomes =
        futures::future::join_all((0..10).map(|_| outcome(ledger.withdraw("alice", 20)))).await;

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
        "10 concurrent withdrawals of 20 from a balance of 100: {} got an answer, {} callers \
         panicked{panics} and {unanswered} never got an answer. Every request must be answered, \
         the refused ones too",
        10 - panicked.len() - unanswered,
        panicked.len(),
    );

    let paid = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Answered(Ok(_))))
        .count();
    let refused = outcomes
        .iter()
        .filter(|o| {
            matches!(
                o,
                Outcome::Answered(Err(LedgerError::InsufficientFunds { requested: 20, .. }))
            )
        })
        .count();
    assert!(
        paid == 5 && refused == 5,
        "10 concurrent withdrawals of 20 from a balance of 100: exactly 5 can be paid and 5 must \
         be refused with InsufficientFunds, but {paid} were reported paid and {refused} refused: \
         {outcomes:?}"
    );
    let balance = answer("balance(alice)", ledger.balance("alice")).await;
    assert_eq!(
        balance,
        Ok(0),
        "after 5 withdrawals of 20 out of 100, the balance must be 0"
    );
}

#[tokio::test(start_paused = true)]
async fn callers_get_an_error_once_the_ledger_has_stopped() {
    let ledger = Ledger::spawn();
    let handler = ledger.clone();
    answer("deposit(alice, 10)", ledger.deposit("alice", 10))
        .await
        .expect("depositing into a new account must succeed");

    ledger.shutdown().await;
    // Let the actor take the shutdown request and stop. The ledger never waits on a timer, so
    // 1 ms of virtual time is plenty.
    sleep(Duration::from_millis(1)).await;

    let requests = [
        ("balance(alice)", handler.balance("alice").boxed()),
        ("deposit(alice, 5)", handler.deposit("alice", 5).boxed()),
        ("withdraw(alice, 5)", handler.withdraw("alice", 5).boxed()),
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
    answer("deposit(alice, 10)", ledger.deposit("alice", 10))
        .await
        .expect("depositing into a new account must succeed");

    // The shutdown request goes into the queue, and right behind it, before the actor has had a
    // chance to run, a balance request: it is in the queue when the actor stops.
    ledger.shutdown().await;
    let mut queued = pin!(outcome(ledger.balance("alice")));
    let first_poll = futures::poll!(queued.as_mut());
    let got = match first_poll {
        std::task::Poll::Ready(got) => got,
        std::task::Poll::Pending => queued.await,
    };

    match got {
        // A ledger that serves what was queued before it stops is fine; so is ActorGone.
        Outcome::Answered(Ok(10) | Err(LedgerError::ActorGone)) => {}
        Outcome::Panicked(message) => panic!(
            "balance(alice), sent just as the ledger was stopping, panicked ({message:?}): the \
             actor stopped with the request still in its queue, which drops the request and its \
             reply sender unanswered. The caller must get Err(ActorGone), not crash"
        ),
        Outcome::NoAnswer => panic!(
            "balance(alice), sent just as the ledger was stopping, never got an answer: the \
             caller must get Err(ActorGone) (or the balance, 10)"
        ),
        Outcome::Answered(other) => panic!(
            "balance(alice), sent just as the ledger was stopping, returned {other:?}: it must be \
             either the real balance, Ok(10), or Err(ActorGone)"
        ),
    }
}
