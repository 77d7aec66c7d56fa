//! Accepted: the hub keeps a broadcast and a watch receiver of its own and hands out `resubscribe()` and `clone()`, so plain `send` never fails; `changed` marks the value seen itself
//! The notification hub of a small web service.
//!
//! Every open browser session subscribes to the hub. It must see every event the service
//! publishes (order updates), and it reads the service's runtime config (rate limits), which
//! operators change while the service runs.

use tokio::sync::{broadcast, watch};

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
    // The hub's own receivers keep both channels open, and new sessions are made from them.
    events_rx: broadcast::Receiver<Event>,
    config: watch::Sender<Config>,
    config_rx: watch::Receiver<Config>,
}

impl Hub {
    /// A hub that starts with `config` and keeps a backlog of up to `capacity` events for
    /// subscribers that have not read them yet.
    pub fn new(capacity: usize, config: Config) -> Hub {
        let (events, events_rx) = broadcast::channel(capacity);
        let (config, config_rx) = watch::channel(config);
        Hub {
            events,
            events_rx,
            config,
            config_rx,
        }
    }

    /// Publishes `event` to every subscriber. A slow subscriber must never hold the publisher up:
    /// once it is more than `capacity` events behind, it loses the oldest ones and is told so.
    pub async fn publish(&self, event: Event) {
        // The hub holds a receiver, so `send` cannot fail; it never waits either.
        let _ = self.events.send(event);
    }

    /// A new subscriber, for one session. It sees every event published from now on.
    pub fn subscribe(&self) -> Subscriber {
        Subscriber {
            events: self.events_rx.resubscribe(),
        }
    }

    /// Replaces the config. Every reader sees the new one from now on.
    pub fn set_config(&self, config: Config) {
        // The hub's own receiver keeps the channel open, so the value is always stored.
        let _ = self.config.send(config);
    }

    /// A reader of the config, for one session.
    pub fn config(&self) -> ConfigReader {
        ConfigReader {
            config: self.config_rx.clone(),
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
        match self.events.recv().await {
            Ok(event) => Ok(event),
            Err(broadcast::error::RecvError::Lagged(missed)) => Err(RecvError::Lagged(missed)),
            Err(broadcast::error::RecvError::Closed) => Err(RecvError::Closed),
        }
    }
}

/// One session's view of the config.
pub struct ConfigReader {
    config: watch::Receiver<Config>,
}

impl ConfigReader {
    /// The latest config.
    pub fn current(&mut self) -> Config {
        self.config.borrow_and_update().clone()
    }

    /// Waits for a config this reader has not seen yet and returns it, or `None` once the hub is
    /// gone. An update made since the reader last looked (with `current` or `changed`) counts, so
    /// a reload loop (`current`, apply it, `changed`, apply it, ...) misses nothing.
    pub async fn changed(&mut self) -> Option<Config> {
        // `changed` marks the new value seen when it returns.
        match self.config.changed().await {
            Ok(()) => Some(self.config.borrow().clone()),
            Err(_) => None,
        }
    }
}
