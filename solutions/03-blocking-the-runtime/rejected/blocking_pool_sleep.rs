//! Rejected: the pause sleeps on a blocking-pool thread: each failed attempt parks a thread for the whole pause, Tokio's clock cannot see it, and it cannot be cancelled.
//! Fails: a_failed_log_in_pauses_without_blocking_other_tasks, a_failed_log_in_answers_only_after_the_pause, failed_log_ins_at_once_pause_side_by_side
//! Accounts for a small web service: the register and log-in handlers.
//!
//! Bug report from operations: "Whenever a few people log in at once, the whole service stalls.
//! Health checks time out, and requests that never touch accounts wait hundreds of milliseconds.
//! One core sits at 100 %, and there is nothing in the logs." The service runs on Tokio's
//! current-thread runtime.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::HashMap;
use std::hash::{BuildHasher, DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A password hash that is slow on purpose (key stretching), so that stolen hashes are
/// expensive to crack. Slow means CPU: the production setting takes about 100 ms per call.
pub trait PasswordHasher: Send + Sync + 'static {
    fn hash(&self, password: &str, salt: u64) -> u64;
}

/// The production hasher: the password goes through `rounds` rounds of SipHash.
#[derive(Debug, Clone)]
pub struct Stretched {
    pub rounds: u32,
}

impl PasswordHasher for Stretched {
    fn hash(&self, password: &str, salt: u64) -> u64 {
        let mut state = salt;
        for _ in 0..self.rounds {
            let mut round = DefaultHasher::new();
            (state, password).hash(&mut round);
            state = round.finish();
        }
        state
    }
}

/// `register` was called with a user name that already has an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameTaken;

#[derive(Debug, Clone, Copy)]
struct Credentials {
    salt: u64,
    hash: u64,
}

pub struct Accounts {
    hasher: Arc<dyn PasswordHasher>,
    failed_login_delay: Duration,
    users: Mutex<HashMap<String, Credentials>>,
}

impl Accounts {
    /// `failed_login_delay` is how long a failed log-in waits before it answers (a second in
    /// production): it makes guessing passwords slow.
    pub fn new(hasher: impl PasswordHasher, failed_login_delay: Duration) -> Self {
        Accounts {
            hasher: Arc::new(hasher),
            failed_login_delay,
            users: Mutex::new(HashMap::new()),
        }
    }

    /// Handler for `POST /register`: creates an account with this password.
    pub async fn register(&self, user: &str, password: &str) -> Result<(), NameTaken> {
        let salt = new_salt();
        // Slow on purpose, see `PasswordHasher`.
        let hash = self.hash(password, salt).await;

        match self.users.lock().unwrap().entry(user.to_owned()) {
            Entry::Occupied(_) => Err(NameTaken),
            Entry::Vacant(slot) => {
                slot.insert(Credentials { salt, hash });
                Ok(())
            }
        }
    }

    /// Handler for `POST /login`: whether `password` is the user's password.
    pub async fn log_in(&self, user: &str, password: &str) -> bool {
        let stored = self.users.lock().unwrap().get(user).copied();
        let ok = match stored {
            // Slow on purpose, see `PasswordHasher`.
            Some(stored) => self.hash(password, stored.salt).await == stored.hash,
            None => false,
        };

        if !ok {
            // Every failed attempt costs the caller a pause: that slows down password guessing.
            // Sleep on the blocking pool, where blocking is allowed.
            let delay = self.failed_login_delay;
            tokio::task::spawn_blocking(move || std::thread::sleep(delay))
                .await
                .expect("the pause panicked");
        }
        ok
    }
}

impl Accounts {
    /// Hashes a password without holding the runtime's thread.
    async fn hash(&self, password: &str, salt: u64) -> u64 {
        let hasher = Arc::clone(&self.hasher);
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hasher.hash(&password, salt))
            .await
            .expect("the password hasher panicked")
    }
}

/// A fresh random salt for each account.
fn new_salt() -> u64 {
    RandomState::new().hash_one("salt")
}
