//! Every test runs on a paused clock (`start_paused = true`): virtual time only moves when every
//! task is idle, and then jumps straight to the next timer. So waiting "up to 60 s" for an effect
//! costs no real time, and an effect that is never going to happen fails the test at once.

use std::time::Duration;

use lazy_futures::{Accounts, AuditLog, Mailer};
use tokio::time::timeout;

/// Far longer than any work sign-up starts (the slowest step takes 300 ms of virtual time).
const PATIENCE: Duration = Duration::from_secs(60);

/// Waits until `done()` holds, for at most `PATIENCE` of virtual time. This gives work that
/// `sign_up` handed to a background task the time to finish, so awaiting in place, `join!` and
/// `tokio::spawn` all pass. Returns whether `done()` ever held.
async fn eventually(done: impl Fn() -> bool) -> bool {
    let wait = async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    timeout(PATIENCE, wait).await.is_ok()
}

async fn sign_up(accounts: &Accounts, email: &str) -> u64 {
    timeout(PATIENCE, accounts.sign_up(email))
        .await
        .unwrap_or_else(|_| {
            panic!("sign_up({email:?}) did not return within 60 s of virtual time: it is stuck")
        })
}

#[tokio::test(start_paused = true)]
async fn sign_up_sends_the_welcome_email() {
    let mailer = Mailer::default();
    let accounts = Accounts::new(mailer.clone(), AuditLog::default());

    sign_up(&accounts, "ada@example.com").await;

    assert!(
        eventually(|| !mailer.sent().is_empty()).await,
        "sign_up returned but the welcome email was never sent, not even 60 s later: the future \
         returned by send_welcome_email was created but never polled, and a future does nothing \
         until something awaits it"
    );
    let sent = mailer.sent();
    assert_eq!(
        sent.len(),
        1,
        "one sign-up should send exactly one welcome email, but the relay got {sent:?}"
    );
    assert_eq!(
        sent[0].to, "ada@example.com",
        "the welcome email went to the wrong address: {sent:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn sign_up_records_an_audit_entry() {
    let audit = AuditLog::default();
    let accounts = Accounts::new(Mailer::default(), audit.clone());

    sign_up(&accounts, "ada@example.com").await;

    assert!(
        eventually(|| !audit.entries().is_empty()).await,
        "sign_up returned but nothing reached the audit log, not even 60 s later: the future \
         returned by AuditLog::record was created but never polled, and a future does nothing \
         until something awaits it"
    );
    let entries = audit.entries();
    assert_eq!(
        entries.len(),
        1,
        "one sign-up should write exactly one audit entry, but the log holds {entries:?}"
    );
    assert!(
        entries[0].contains("ada@example.com"),
        "the audit entry should name the new user's email address: {entries:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn sign_up_creates_each_account() {
    let mailer = Mailer::default();
    let audit = AuditLog::default();
    let accounts = Accounts::new(mailer.clone(), audit.clone());

    let ada = sign_up(&accounts, "ada@example.com").await;
    let grace = sign_up(&accounts, "grace@example.com").await;

    assert_ne!(ada, grace, "two sign-ups got the same user id {ada}");
    assert_eq!(
        accounts.user(ada).as_deref(),
        Some("ada@example.com"),
        "the account created by the first sign-up (id {ada}) is missing or wrong"
    );
    assert_eq!(
        accounts.user(grace).as_deref(),
        Some("grace@example.com"),
        "the account created by the second sign-up (id {grace}) is missing or wrong"
    );
}
