//! Accepted: keeps `std::time::Instant` in the sessions, but every reading of the time comes from Tokio's clock (`tokio::time::Instant::now().into_std()`)
//! Log-in sessions of a web service, kept in memory.
//!
//! A note from the engineer writing the store's tests: "The expiry tests run on Tokio's paused
//! clock, so that checking a 30-minute idle timeout takes microseconds, not half an hour. But I
//! move the clock 31 minutes forward and the session is still open. The janitor wakes up every
//! minute as it should, and it never closes anything. Sessions do expire in production, I
//! checked. What is different in the tests?"

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Identifies one session; the client sends it with every request (in a cookie, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token(u64);

struct Session {
    user: String,
    /// When the session was last used. It expires once it has been idle for `idle_timeout`.
    last_used: Instant,
}

pub struct SessionStore {
    idle_timeout: Duration,
    sessions: Mutex<HashMap<Token, Session>>,
    next_token: AtomicU64,
}

impl SessionStore {
    /// A store whose sessions close after `idle_timeout` without use.
    pub fn new(idle_timeout: Duration) -> Self {
        SessionStore {
            idle_timeout,
            sessions: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(1),
        }
    }

    /// Opens a session for `user` and returns its token.
    pub fn log_in(&self, user: &str) -> Token {
        let token = Token(self.next_token.fetch_add(1, Ordering::Relaxed));
        let session = Session {
            user: user.to_owned(),
            last_used: tokio::time::Instant::now().into_std(),
        };
        self.sessions.lock().unwrap().insert(token, session);
        token
    }

    /// The user whose session this is, if it is still open. Using a session keeps it open: its
    /// idle time starts again from now.
    pub fn user(&self, token: Token) -> Option<String> {
        let mut sessions = self.sessions.lock().unwrap();
        // How long has the session been idle? Time since it was last used.
        let now = tokio::time::Instant::now().into_std();
        let session = sessions.get_mut(&token)?;
        if now.duration_since(session.last_used) < self.idle_timeout {
            session.last_used = now;
            return Some(session.user.clone());
        }
        sessions.remove(&token);
        None
    }

    /// Closes every session that has been idle for `idle_timeout` or longer, and returns how many
    /// it closed.
    pub fn purge_expired(&self) -> usize {
        let now = tokio::time::Instant::now().into_std();
        let mut sessions = self.sessions.lock().unwrap();
        let before = sessions.len();
        sessions.retain(|_, session| now.duration_since(session.last_used) < self.idle_timeout);
        before - sessions.len()
    }

    /// How many sessions the store holds: the open ones, and expired ones not purged yet.
    pub fn session_count(&self) -> usize {
        self.sessions.lock().unwrap().len()
    }

    /// Runs until the task is aborted: every `period`, closes the expired sessions, so that the
    /// store does not fill up with sessions nobody will use again. Spawn it next to the server.
    pub async fn run_janitor(self: Arc<Self>, period: Duration) {
        let mut ticks = tokio::time::interval(period);
        loop {
            ticks.tick().await;
            self.purge_expired();
        }
    }
}
