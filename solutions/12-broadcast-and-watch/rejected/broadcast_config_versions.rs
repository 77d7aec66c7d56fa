//! Rejected: sends every config version through a broadcast channel, so a reader that was busy gets the outdated versions one by one instead of the latest
//! Fails: a_reload_loop_sees_each_config_once
//! The notification hub of a small web service.
//!
//! Every open browser session subscribes to the hub. It must see every event the service
//! publishes (order updates), and it reads the service's runtime config (rate limits), which
//! operators change while the service runs.

use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

/// Something that happened, to be shown in every session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub seq: u64,
    pub text: String,
}

/// The service's runtime configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub version: u64,
    pub rate_limit: u32,
}

/// Why [`Subscriber::recv`] returned no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    /// The subscriber fell so far behind that the hub dropped this many events it had not read.
    /// The next `recv` returns the oldest event the hub still holds.
    Lagged(u64),
    /// The hub is gone and every event has been read.
    Closed,
}

pub struct Hub {
    events: broadcast::Sender<Event>,
    latest: Arc<Mutex<Config>>,
    updates: broadcast::Sender<Config>,
}

impl Hub {
    /// A hub that starts with `config` and keeps a backlog of up to `capacity` events for
    /// subscribers that have not read them yet.
    pub fn new(capacity: usize, config: Config) -> Hub {
        let (events, _) = broadcast::channel(capacity);
        let (updates, _) = broadcast::channel(16);
        Hub {
            events,
            latest: Arc::new(Mutex::new(config)),
            updates,
        }
    }

    /// Publishes `event` to every subscriber. A slow subscriber must never hold the publisher up:
    /// once it is more than `capacity` events behind, it loses the oldest ones and is told so.
    pub async fn publish(&self, event: Event) {
        let _ = self.events.send(event);
    }

    /// A new subscriber, for one session. It sees every event published from now on.
    pub fn subscribe(&self) -> Subscriber {
        Subscriber {
            events: self.events.subscribe(),
        }
    }

    /// Replaces the config. Every reader sees the new one from now on.
    pub fn set_config(&self, config: Config) {
        *self.latest.lock().unwrap() = config.clone();
        // Every reader gets every update.
        let _ = self.updates.send(config);
    }

    /// A reader of the config, for one session.
    pub fn config(&self) -> ConfigReader {
        ConfigReader {
            latest: Arc::clone(&self.latest),
            updates: self.updates.subscribe(),
        }
    }
}

/// One session's view of the events.
pub struct Subscriber {
    events: broadcast::Receiver<Event>,
}

impl Subscriber {
    /// The next event, in the order they were published.
    pub async fn recv(&mut self) -> Result<Event, RecvError> {
        self.events.recv().await.map_err(|err| match err {
            broadcast::error::RecvError::Lagged(missed) => RecvError::Lagged(missed),
            broadcast::error::RecvError::Closed => RecvError::Closed,
        })
    }
}

/// One session's view of the config.
pub struct ConfigReader {
    latest: Arc<Mutex<Config>>,
    updates: broadcast::Receiver<Config>,
}

impl ConfigReader {
    /// The latest config.
    pub fn current(&mut self) -> Config {
        // Whatever was announced so far is included in the latest config.
        while self.updates.try_recv().is_ok() {}
        self.latest.lock().unwrap().clone()
    }

    /// Waits for a config this reader has not seen yet and returns it, or `None` once the hub is
    /// gone. An update made since the reader last looked (with `current` or `changed`) counts, so
    /// a reload loop (`current`, apply it, `changed`, apply it, ...) misses nothing.
    pub async fn changed(&mut self) -> Option<Config> {
        loop {
            match self.updates.recv().await {
                Ok(config) => return Some(config),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
