//! Every test runs on a paused clock (`start_paused = true`): the fraud check (20 ms) and the
//! archive (1 s) take virtual time only. Each transfer runs in its own task, like concurrent
//! requests. Every account opens with 100.
//!
//! The property under test: whatever mix of transfers and statements runs at once, and in
//! whatever order they queue for the account locks, every transfer finishes, all or nothing (even
//! when its request gives up half way), and no account ever pays out more than it holds. One
//! test runs on real threads, where no single thread decides the order of events.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::task::{Context, Poll, Waker};
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

thread_local! {
    /// Set while a test waits for its transfers: a transfer that panics is reported by the test,
    /// with its message, instead of being printed by the panic hook first.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Keeps panics quiet on this thread while it lives, even if the wait is cancelled.
struct Quiet;

impl Quiet {
    fn new() -> Quiet {
        QUIET.with(|quiet| quiet.set(true));
        Quiet
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        QUIET.with(|quiet| quiet.set(false));
    }
}

/// Waits for one transfer's task. A panic comes back as its message.
async fn outcome_of(
    handle: JoinHandle<Result<(), BankError>>,
) -> Result<Result<(), BankError>, String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                default(info);
            }
        }));
    });
    // The paused test runtime has one thread: the transfer runs on this one, while we wait.
    let _quiet = Quiet::new();
    let joined = handle.await;
    joined.map_err(|err| match err.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default(),
        Err(err) => err.to_string(),
    })
}

/// Waits for every transfer and checks that each one succeeded.
async fn all_succeed(transfers: Vec<(&str, JoinHandle<Result<(), BankError>>)>) {
    for (name, handle) in transfers {
        match outcome_of(handle).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                panic!("transfer {name} failed although both accounts exist and hold enough: {err}")
            }
            Err(panic) => panic!("transfer {name} panicked: {panic}"),
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
    assert_eq!(
        statement.as_deref(),
        Ok("account 1: no transactions archived for account 1 this month, balance 100"),
        "the statement of account 1 held the account while the transfers queued, so it should \
         show the history and the balance from before them"
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

    // Exactly the whole balance is enough.
    let result = timeout(PATIENCE, bank.transfer(ALICE, BOB, 100))
        .await
        .unwrap_or_else(|_| {
            panic!("a single transfer did not return within 60 s of virtual time: it is stuck")
        });
    assert_eq!(
        result,
        Ok(()),
        "transferring 100 out of an account that holds exactly 100 should succeed"
    );
    let actual = balances(&bank, &[ALICE, BOB]).await;
    assert_eq!(
        actual,
        [0, 200],
        "after a transfer of the whole balance (100) from account 1 to account 2"
    );
}

/// A small random number generator with a fixed seed, so the storm below is the same every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[tokio::test(start_paused = true)]
async fn a_storm_of_transfers_between_five_accounts_completes() {
    // Five accounts of 1,000 each; 60 transfers of 1 to 20 in every direction, arriving a few
    // milliseconds apart (a fraud check takes 20 ms, so many are in flight at once), and month-end
    // statements holding one account or another for a second now and then. No account can run
    // dry, so every transfer must succeed, whatever the order they end up in.
    let ids: Vec<AccountId> = (1..=5).collect();
    let bank = Arc::new(Bank::new(ids.iter().map(|&id| (id, 1_000))));
    let mut rng = Lcg(7);
    let mut expected = vec![1_000u64; ids.len()];
    let mut transfers = Vec::new();
    let mut names = Vec::new();
    let mut statements = Vec::new();
    for i in 0..60 {
        if i % 15 == 7 {
            let id = ids[rng.below(5) as usize];
            let bank = Arc::clone(&bank);
            statements.push(tokio::spawn(async move { bank.statement(id).await }));
        }
        let from = ids[rng.below(5) as usize];
        let to = ids[(from as usize + rng.below(4) as usize) % 5];
        let amount = 1 + rng.below(20);
        expected[from as usize - 1] -= amount;
        expected[to as usize - 1] += amount;
        names.push(format!("{from}->{to} of {amount}"));
        transfers.push(spawn_transfer(&bank, from, to, amount));
        sleep(Duration::from_millis(rng.below(8))).await;
    }

    let all_done = async {
        for (name, handle) in names.iter().zip(transfers) {
            match outcome_of(handle).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => panic!(
                    "transfer {name} failed although every account held far more than enough: \
                     {err}"
                ),
                Err(panic) => panic!("transfer {name} panicked: {panic}"),
            }
        }
    };
    timeout(PATIENCE, all_done).await.unwrap_or_else(|_| {
        panic!(
            "60 transfers between 5 accounts, in every direction, with statements in between, \
             had not all finished after 60 s of virtual time, although each takes 20 ms once it \
             has its locks: some of them hold one account's lock and wait for another's, in a \
             cycle. Every transfer has to take its locks in the same global order"
        )
    });
    for statement in statements {
        let statement = statement.await.expect("a statement panicked");
        assert!(statement.is_ok(), "a statement failed: {statement:?}");
    }
    let actual = balances(&bank, &ids).await;
    check_balances(&actual, &expected, "of the storm");
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_transfer_moves_all_or_nothing() {
    // A statement holds one of the two accounts for 1 s, so the transfer 1->2 of 30 has to wait
    // for it at some point. Its request gives up after a given time, which drops the transfer
    // wherever it is: before, during or after its wait, its fraud check, its locks. Whatever the
    // moment, the money has moved entirely or not at all, and no lock stays taken.
    for held in [BOB, ALICE] {
        for given_ms in (0..=1_100).step_by(5) {
            let bank = bank();
            let statement = {
                let bank = Arc::clone(&bank);
                tokio::spawn(async move { bank.statement(held).await })
            };
            tokio::task::yield_now().await;

            let given = Duration::from_millis(given_ms);
            let result = timeout(given, bank.transfer(ALICE, BOB, 30)).await;

            let statement = timeout(PATIENCE, statement)
                .await
                .expect("the statement never finished")
                .expect("the statement panicked");
            assert!(statement.is_ok(), "the statement failed: {statement:?}");
            // Reading the balances also shows that no lock was left taken.
            let actual = balances(&bank, &[ALICE, BOB]).await;
            let moved = actual == [70, 130];
            assert!(
                moved || actual == [100, 100],
                "a transfer 1->2 of 30 was cancelled after {given_ms} ms (its request gave up; a \
                 statement held account {held} meanwhile), and the balances are now {actual:?}: \
                 money was taken out of one account without reaching the other. A transfer is \
                 all or nothing: move the money in one step, while holding both accounts, so \
                 that a cancellation can only come before it or after it",
            );
            if let Ok(finished) = result {
                assert!(
                    finished.is_ok() && moved,
                    "a transfer 1->2 of 30 returned {finished:?} within {given_ms} ms, and the \
                     balances are {actual:?}: a transfer that reports success has moved the \
                     money"
                );
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn transfers_from_one_account_never_spend_more_than_it_holds() {
    // Account 1 holds 100; two transfers of 60 out of it arrive together. Only one can be paid.
    let bank = bank();
    let to_bob = spawn_transfer(&bank, ALICE, BOB, 60);
    let to_carol = spawn_transfer(&bank, ALICE, CAROL, 60);

    let outcomes = timeout(PATIENCE, async {
        (outcome_of(to_bob).await, outcome_of(to_carol).await)
    })
    .await
    .unwrap_or_else(|_| {
        panic!("two transfers out of account 1 never finished, not within 60 s of virtual time")
    });
    let (to_bob, to_carol) = match outcomes {
        (Ok(a), Ok(b)) => (a, b),
        (Err(panic), _) | (_, Err(panic)) => panic!(
            "account 1 held 100 and two transfers of 60 out of it ran at once; one of them \
             panicked: {panic}. Did both pass the balance check before either took the money? \
             The check and the debit have to happen under the same lock, with no wait in between"
        ),
    };
    let refused = |r: &Result<(), BankError>| {
        matches!(
            r,
            Err(BankError::InsufficientFunds {
                account: ALICE,
                balance: 40,
                amount: 60
            })
        )
    };
    assert!(
        (to_bob.is_ok() && refused(&to_carol)) || (refused(&to_bob) && to_carol.is_ok()),
        "account 1 held 100 and two transfers of 60 out of it ran at once: exactly one should \
         succeed and the other be refused for insufficient funds (40 left), but they returned \
         {to_bob:?} and {to_carol:?}"
    );
    let actual = balances(&bank, &[ALICE, BOB, CAROL]).await;
    assert!(
        actual == [40, 160, 100] || actual == [40, 100, 160],
        "after one transfer of 60 out of account 1 was paid and the other refused, the balances \
         are {actual:?}"
    );
}

/// Real threads: 2,000 banks of two accounts, and in each bank two transfers in opposite
/// directions whose first steps (where a transfer takes, or queues for, its locks) run at the same
/// instant on two threads. Whether the two really overlap depends on the machine, so a wrong lock
/// order is caught on most runs, not all; a global lock order passes every time. A deadlock here
/// hangs the test until it is stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opposite_transfers_on_two_threads_do_not_deadlock() {
    const BANKS: usize = 2_000;
    let banks: Arc<Vec<Arc<Bank>>> = Arc::new(
        (0..BANKS)
            .map(|_| Arc::new(Bank::new([(ALICE, 100), (BOB, 100)])))
            .collect(),
    );
    let arrived = Arc::new(AtomicUsize::new(0));
    let drivers: Vec<_> = [(ALICE, BOB, 30), (BOB, ALICE, 50)]
        .into_iter()
        .map(|(from, to, amount)| {
            let (banks, arrived) = (Arc::clone(&banks), Arc::clone(&arrived));
            let runtime = tokio::runtime::Handle::current();
            // Each driver has a thread of its own, so the two really run in parallel.
            tokio::task::spawn_blocking(move || {
                let _runtime = runtime.enter();
                let mut transfers = Vec::new();
                for (i, bank) in banks.iter().enumerate() {
                    let bank = Arc::clone(bank);
                    let mut transfer =
                        Box::pin(async move { bank.transfer(from, to, amount).await });
                    // Wait, a little, until the other driver has reached this bank too, so that
                    // both go at the same instant. A driver whose partner is not running (a busy
                    // machine) goes on alone: the test only gets slower at catching a deadlock.
                    arrived.fetch_add(1, Ordering::SeqCst);
                    let mut spins = 0;
                    while arrived.load(Ordering::SeqCst) < 2 * (i + 1) && spins < 2_000 {
                        std::hint::spin_loop();
                        spins += 1;
                    }
                    // The first poll, here and now, on this thread; the rest in a task, which
                    // polls it again with a waker of its own.
                    let mut cx = Context::from_waker(Waker::noop());
                    transfers.push(match transfer.as_mut().poll(&mut cx) {
                        Poll::Ready(result) => runtime.spawn(async move { result }),
                        Poll::Pending => runtime.spawn(transfer),
                    });
                }
                transfers
            })
        })
        .collect();
    for driver in drivers {
        for transfer in driver.await.expect("a driver panicked") {
            let result = transfer.await.expect("a transfer panicked");
            assert!(
                result.is_ok(),
                "a transfer failed although both accounts exist and hold enough: {result:?}"
            );
        }
    }
    for bank in banks.iter() {
        let actual = vec![
            bank.balance(ALICE).await.unwrap(),
            bank.balance(BOB).await.unwrap(),
        ];
        check_balances(
            &actual,
            &[120, 80],
            "1->2 of 30 and 2->1 of 50, on two threads",
        );
    }
}
