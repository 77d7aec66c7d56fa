//! Rejected: keeps the config behind a mutex with a version number and wakes readers with a Notify, but nothing wakes them when the hub goes away, so a reload loop never ends
//! Fails: subscribers_and_readers_learn_that_the_hub_is_gone
//! The notification hub of a small web service.
//!
//! Every open browser session subscribes to the hub. It must see every event the service
//! publishes (order updates), and it reads the service's runtime config (rate limits), which
//! operators change while the service runs.

use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, Notify};

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
    config: Arc<SharedConfig>,
}

/// The latest config, with a version number that goes up on every update.
struct SharedConfig {
    latest: Mutex<(u64, Config)>,
    updated: Notify,
}

impl Hub {
    /// A hub that starts with `config` and keeps a backlog of up to `capacity` events for
    /// subscribers that have not read them yet.
    pub fn new(capacity: usize, config: Config) -> Hub {
        let (events, _) = broadcast::channel(capacity);
        Hub {
            events,
            config: Arc::new(SharedConfig {
                latest: Mutex::new((0, config)),
                updated: Notify::new(),
            }),
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
        {
            let mut latest = self.config.latest.lock().unwrap();
            latest.0 += 1;
            latest.1 = config;
        }
        self.config.updated.notify_waiters();
    }

    /// A reader of the config, for one session.
    pub fn config(&self) -> ConfigReader {
        let seen = self.config.latest.lock().unwrap().0;
        ConfigReader {
            shared: Arc::clone(&self.config),
            seen,
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
    shared: Arc<SharedConfig>,
    /// The version this reader last returned.
    seen: u64,
}

impl ConfigReader {
    /// The latest config.
    pub fn current(&mut self) -> Config {
        let latest = self.shared.latest.lock().unwrap();
        self.seen = latest.0;
        latest.1.clone()
    }

    /// Waits for a config this reader has not seen yet and returns it, or `None` once the hub is
    /// gone. An update made since the reader last looked (with `current` or `changed`) counts, so
    /// a reload loop (`current`, apply it, `changed`, apply it, ...) misses nothing.
    pub async fn changed(&mut self) -> Option<Config> {
        loop {
            {
                let latest = self.shared.latest.lock().unwrap();
                if latest.0 != self.seen {
                    self.seen = latest.0;
                    return Some(latest.1.clone());
                }
            }
            self.shared.updated.notified().await;
        }
    }
}
