//! Every test runs on a paused clock (`start_paused = true`): virtual time only moves when every
//! task is idle, and then jumps straight to the next timer. So waiting a minute for an effect
//! costs no real time, and an effect that is never going to happen fails the test at once.
//!
//! After each sign-up the tests wait a minute of virtual time before they count what reached the
//! mail relay and the audit log. Work that `sign_up` finished before it returned, and work it
//! left to a task that runs on, have both happened by then.

use std::collections::BTreeMap;
use std::time::Duration;

use lazy_futures::{Accounts, AuditLog, Mailer, UserId};
use tokio::time::{sleep, timeout};

/// Far longer than any work sign-up starts (the slowest step takes 300 ms of virtual time).
const PATIENCE: Duration = Duration::from_secs(60);

async fn sign_up(accounts: &Accounts, email: &str) -> UserId {
    timeout(PATIENCE, accounts.sign_up(email))
        .await
        .unwrap_or_else(|_| {
            panic!("sign_up({email:?}) did not return within 60 s of virtual time: it is stuck")
        })
}

/// Gives anything the sign-ups set going a minute of virtual time to finish.
async fn let_the_dust_settle() {
    sleep(PATIENCE).await;
}

/// How many welcome emails each address got.
fn emails_by_address(mailer: &Mailer) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for email in mailer.sent() {
        assert_eq!(
            email.subject, "Welcome aboard!",
            "the relay got an email that is not the welcome email: {email:?}"
        );
        *counts.entry(email.to).or_default() += 1;
    }
    counts
}

#[tokio::test(start_paused = true)]
async fn sign_up_sends_the_welcome_email() {
    let mailer = Mailer::default();
    let accounts = Accounts::new(mailer.clone(), AuditLog::default());

    sign_up(&accounts, "ada@example.com").await;
    let_the_dust_settle().await;

    let sent = mailer.sent();
    assert!(
        !sent.is_empty(),
        "sign_up returned but the welcome email was never sent, not even 60 s later: the future \
         returned by send_welcome_email was created but never polled, and a future does nothing \
         until something polls it"
    );
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
    let_the_dust_settle().await;

    let entries = audit.entries();
    assert!(
        !entries.is_empty(),
        "sign_up returned but nothing reached the audit log, not even 60 s later: the future \
         returned by AuditLog::record was created but never polled, and a future does nothing \
         until something polls it"
    );
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
async fn every_sign_up_sends_one_email_and_records_one_entry() {
    let mailer = Mailer::default();
    let audit = AuditLog::default();
    let accounts = Accounts::new(mailer.clone(), audit.clone());
    let at_once = [
        "ada@example.com",
        "grace@example.com",
        "alan@example.com",
        "edsger@example.com",
    ];

    // Four sign-ups at the same time, then one more once they are done.
    let ids =
        futures::future::join_all(at_once.iter().map(|email| sign_up(&accounts, email))).await;
    let barbara = sign_up(&accounts, "barbara@example.com").await;
    let_the_dust_settle().await;

    let users: Vec<(UserId, &str)> = ids
        .into_iter()
        .zip(at_once)
        .chain([(barbara, "barbara@example.com")])
        .collect();
    for &(id, email) in &users {
        assert_eq!(
            accounts.user(id).as_deref(),
            Some(email),
            "the account of {email} (id {id}) is missing or wrong"
        );
    }
    let emails = emails_by_address(&mailer);
    for &(_, email) in &users {
        let got = emails.get(email).copied().unwrap_or(0);
        assert!(
            got == 1,
            "after {} sign-ups (four at once, then one more), {email} got {got} welcome emails \
             instead of 1. Every sign-up must send its own welcome email, once; the relay got: \
             {emails:?}",
            users.len()
        );
    }
    assert!(
        emails.len() == users.len(),
        "the relay sent welcome emails to addresses that never signed up: {emails:?}"
    );

    let entries = audit.entries();
    for &(_, email) in &users {
        let naming = entries.iter().filter(|entry| entry.contains(email)).count();
        assert!(
            naming == 1,
            "after {} sign-ups (four at once, then one more), the audit log holds {naming} \
             entries naming {email} instead of 1. Every sign-up must record its own \
             entry, once; the log holds: {entries:?}",
            users.len()
        );
    }
    assert!(
        entries.len() == users.len(),
        "{} sign-ups should write {} audit entries, but the log holds {entries:?}",
        users.len(),
        users.len()
    );
}

#[tokio::test(start_paused = true)]
async fn sign_up_creates_each_account() {
    let accounts = Accounts::new(Mailer::default(), AuditLog::default());

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
