//! Every test runs on a paused clock (`start_paused = true`): the fraud check (20 ms) and the
//! archive (1 s) take virtual time only. Each transfer runs in its own task, like concurrent
//! requests. Every account opens with 100.

use std::sync::Arc;
use std::time::Duration;

use lock_ordering::{AccountId, Bank, BankError};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};

const ALICE: AccountId = 1;
const BOB: AccountId = 2;
const CAROL: AccountId = 3;

/// Far longer than any of these transfers takes when nothing deadlocks (well under 2 s).
const PATIENCE: Duration = Duration::from_secs(60);

fn bank() -> Arc<Bank> {
    Arc::new(Bank::new([(ALICE, 100), (BOB, 100), (CAROL, 100)]))
}

fn spawn_transfer(
    bank: &Arc<Bank>,
    from: AccountId,
    to: AccountId,
    amount: u64,
) -> JoinHandle<Result<(), BankError>> {
    let bank = Arc::clone(bank);
    tokio::spawn(async move { bank.transfer(from, to, amount).await })
}

/// Waits for every transfer and checks that each one succeeded.
async fn all_succeed(transfers: Vec<(&str, JoinHandle<Result<(), BankError>>)>) {
    for (name, handle) in transfers {
        let result = handle.await.expect("a transfer panicked");
        if let Err(err) = result {
            panic!("transfer {name} failed although both accounts exist and hold enough: {err}");
        }
    }
}

/// The balances of `ids`, read once every transfer is done.
async fn balances(bank: &Bank, ids: &[AccountId]) -> Vec<u64> {
    let mut balances = Vec::new();
    for &id in ids {
        let balance = timeout(PATIENCE, bank.balance(id))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "every transfer has returned, yet reading the balance of account {id} waited \
                     60 s of virtual time for its lock: a transfer left it locked"
                )
            });
        balances.push(balance.expect("the account exists"));
    }
    balances
}

fn check_balances(actual: &[u64], expected: &[u64], what: &str) {
    assert_eq!(
        actual, expected,
        "after the transfers {what}, which all reported success, the balances are {actual:?} \
         instead of {expected:?}: a transfer that reported success did not move the money (did it give up \
         waiting for a lock and return Ok anyway?)"
    );
}

/// No timeout on purpose: on a deadlock this test hangs until the checker kills it. That is the
/// real symptom: two requests that never come back, and two accounts locked for good.
#[tokio::test(start_paused = true)]
async fn opposite_transfers_both_complete() {
    let bank = bank();

    let alice_to_bob = spawn_transfer(&bank, ALICE, BOB, 30);
    let bob_to_alice = spawn_transfer(&bank, BOB, ALICE, 50);
    all_succeed(vec![("1->2", alice_to_bob), ("2->1", bob_to_alice)]).await;

    let actual = balances(&bank, &[ALICE, BOB]).await;
    check_balances(&actual, &[120, 80], "1->2 of 30 and 2->1 of 50");
}

/// The same two transfers, with a budget of 60 s of virtual time, so a deadlock fails at once
/// with a readable message instead of hanging.
#[tokio::test(start_paused = true)]
async fn opposite_transfers_do_not_deadlock() {
    let bank = bank();

    let alice_to_bob = spawn_transfer(&bank, ALICE, BOB, 30);
    let bob_to_alice = spawn_transfer(&bank, BOB, ALICE, 50);
    let transfers = vec![("1->2", alice_to_bob), ("2->1", bob_to_alice)];
    timeout(PATIENCE, all_succeed(transfers))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "two transfers in opposite directions (1->2 and 2->1, started together) never \
                 finished, not within 60 s of virtual time, although each takes 20 ms: each \
                 holds one account's lock and waits for the other's"
            )
        });

    let actual = balances(&bank, &[ALICE, BOB]).await;
    check_balances(&actual, &[120, 80], "1->2 of 30 and 2->1 of 50");
}

/// A statement holds account 1 for 1 s. Transfer 1->2 arrives and queues for account 1; then
/// 2->1 arrives, takes account 2 and queues for account 1 too. When the statement is done, 1->2
/// gets account 1 and needs account 2. Transfers that take their two locks in opposite orders
/// deadlock here even if nothing is awaited between the two locks.
#[tokio::test(start_paused = true)]
async fn transfers_queued_behind_a_statement_do_not_deadlock() {
    let bank = bank();

    let statement = {
        let bank = Arc::clone(&bank);
        tokio::spawn(async move { bank.statement(ALICE).await })
    };
    sleep(Duration::from_millis(10)).await;
    let alice_to_bob = spawn_transfer(&bank, ALICE, BOB, 30);
    sleep(Duration::from_millis(10)).await;
    let bob_to_alice = spawn_transfer(&bank, BOB, ALICE, 50);

    let transfers = vec![("1->2", alice_to_bob), ("2->1", bob_to_alice)];
    timeout(PATIENCE, all_succeed(transfers))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "a statement held account 1 for 1 s while transfers 1->2 and 2->1 queued up \
                 behind it; 60 s of virtual time later they still had not finished: each holds \
                 one account's lock and waits for the other's. (Nothing needs to be awaited \
                 between two locks for this: taking them in opposite orders is enough, once one \
                 transfer has to queue.)"
            )
        });
    let statement = statement.await.expect("the statement panicked");
    assert!(
        statement.is_ok(),
        "the statement of account 1 failed: {statement:?}"
    );

    let actual = balances(&bank, &[ALICE, BOB]).await;
    check_balances(&actual, &[120, 80], "1->2 of 30 and 2->1 of 50");
}

#[tokio::test(start_paused = true)]
async fn a_ring_of_transfers_does_not_deadlock() {
    let bank = bank();

    let transfers = vec![
        ("1->2", spawn_transfer(&bank, ALICE, BOB, 10)),
        ("2->3", spawn_transfer(&bank, BOB, CAROL, 20)),
        ("3->1", spawn_transfer(&bank, CAROL, ALICE, 30)),
    ];
    timeout(PATIENCE, all_succeed(transfers))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "three transfers in a ring (1->2, 2->3 and 3->1, started together) never \
                 finished, not within 60 s of virtual time, although each takes 20 ms: each \
                 holds one account's lock and waits for the next one's, in a cycle"
            )
        });

    let actual = balances(&bank, &[ALICE, BOB, CAROL]).await;
    check_balances(
        &actual,
        &[120, 90, 90],
        "1->2 of 10, 2->3 of 20 and 3->1 of 30",
    );
}

#[tokio::test(start_paused = true)]
async fn a_transfer_without_enough_money_is_refused() {
    let bank = bank();

    let result = timeout(PATIENCE, bank.transfer(ALICE, BOB, 500))
        .await
        .unwrap_or_else(|_| {
            panic!("a single transfer did not return within 60 s of virtual time: it is stuck")
        });

    assert!(
        matches!(
            result,
            Err(BankError::InsufficientFunds {
                account: ALICE,
                balance: 100,
                amount: 500,
            })
        ),
        "transferring 500 out of an account that holds 100 should fail with InsufficientFunds, \
         got {result:?}"
    );
    let actual = balances(&bank, &[ALICE, BOB]).await;
    assert_eq!(
        actual,
        [100, 100],
        "a refused transfer must not move any money, yet the balances are {actual:?}"
    );
}
