//! Rejected: set_config uses watch's send, which fails and drops the new config while no reader exists, so an update made before the first session is lost
//! Fails: every_reader_sees_the_latest_config
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

// An mpsc channel hands each message to exactly one receiver, so subscribers sharing one took
// turns. `broadcast` gives every subscriber its own copy of every event; `watch` keeps one
// latest value that every reader sees.
pub struct Hub {
    events: broadcast::Sender<Event>,
    config: watch::Sender<Config>,
}

impl Hub {
    /// A hub that starts with `config` and keeps a backlog of up to `capacity` events for
    /// subscribers that have not read them yet.
    pub fn new(capacity: usize, config: Config) -> Hub {
        let (events, _) = broadcast::channel(capacity);
        let (config, _) = watch::channel(config);
        Hub { events, config }
    }

    /// Publishes `event` to every subscriber. A slow subscriber must never hold the publisher up:
    /// once it is more than `capacity` events behind, it loses the oldest ones and is told so.
    pub async fn publish(&self, event: Event) {
        // `send` never waits: a subscriber that falls behind the backlog gets `Lagged` instead.
        // It fails only when nobody is subscribed, and then there is nobody to tell.
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
        // Fails only when nobody is reading: then there is nobody to tell.
        let _ = self.config.send(config);
    }

    /// A reader of the config, for one session.
    pub fn config(&self) -> ConfigReader {
        ConfigReader {
            config: self.config.subscribe(),
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
        // Pass `Lagged` on: the session must know it missed events (and can reload its state).
        self.events.recv().await.map_err(|err| match err {
            broadcast::error::RecvError::Lagged(missed) => RecvError::Lagged(missed),
            broadcast::error::RecvError::Closed => RecvError::Closed,
        })
    }
}

/// One session's view of the config.
pub struct ConfigReader {
    config: watch::Receiver<Config>,
}

impl ConfigReader {
    /// The latest config.
    pub fn current(&mut self) -> Config {
        // `_and_update` marks it seen, so `changed` waits for the next one.
        self.config.borrow_and_update().clone()
    }

    /// Waits for a config this reader has not seen yet and returns it, or `None` once the hub is
    /// gone. An update made since the reader last looked (with `current` or `changed`) counts, so
    /// a reload loop (`current`, apply it, `changed`, apply it, ...) misses nothing.
    pub async fn changed(&mut self) -> Option<Config> {
        self.config.changed().await.ok()?;
        Some(self.config.borrow_and_update().clone())
    }
}
