//! Accepted: awaits the email, then the audit entry; slower than running both at once, but every effect happens before sign_up returns.
//! Sign-up for a small web service.
//!
//! Bug report from support: "New users say they never got a welcome email, and the audit log
//! has no sign-ups in it at all. Yet the accounts exist and people can log in."

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One message accepted by the mail relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
}

/// Client for the mail relay. Clones share one outbox, so you can see what was sent.
#[derive(Debug, Clone, Default)]
pub struct Mailer {
    outbox: Arc<Mutex<Vec<Email>>>,
}

impl Mailer {
    pub async fn send(&self, to: &str, subject: &str) {
        // The relay is slow to accept a message.
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.outbox.lock().unwrap().push(Email {
            to: to.to_owned(),
            subject: subject.to_owned(),
        });
    }

    /// Every email the relay has accepted so far.
    pub fn sent(&self) -> Vec<Email> {
        self.outbox.lock().unwrap().clone()
    }
}

/// Client for the audit service. Clones share one log.
#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    entries: Arc<Mutex<Vec<String>>>,
}

impl AuditLog {
    pub async fn record(&self, entry: String) {
        // One round trip to the audit service.
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.entries.lock().unwrap().push(entry);
    }

    /// Every entry the audit service has stored so far.
    pub fn entries(&self) -> Vec<String> {
        self.entries.lock().unwrap().clone()
    }
}

pub type UserId = u64;

pub struct Accounts {
    users: Mutex<Vec<String>>,
    mailer: Mailer,
    audit: AuditLog,
}

impl Accounts {
    pub fn new(mailer: Mailer, audit: AuditLog) -> Self {
        Accounts {
            users: Mutex::new(Vec::new()),
            mailer,
            audit,
        }
    }

    /// The email address the user signed up with.
    pub fn user(&self, id: UserId) -> Option<String> {
        let index = usize::try_from(id).ok()?.checked_sub(1)?;
        self.users.lock().unwrap().get(index).cloned()
    }

    /// Creates the account, sends the welcome email and records the sign-up in the audit log.
    pub async fn sign_up(&self, email: &str) -> UserId {
        let id = self.insert_user(email).await;

        // A future runs only while it is polled: await each one, one after the other.
        send_welcome_email(&self.mailer, email).await;
        self.audit
            .record(format!("user {id} signed up as {email}"))
            .await;

        id
    }

    async fn insert_user(&self, email: &str) -> UserId {
        // One round trip to the database.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut users = self.users.lock().unwrap();
        users.push(email.to_owned());
        users.len() as UserId
    }
}

async fn send_welcome_email(mailer: &Mailer, email: &str) {
    mailer.send(email, "Welcome aboard!").await;
}
