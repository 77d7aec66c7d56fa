//! Rejected: gives every subscriber its own unbounded queue: everyone sees every event and nothing waits, but a stalled session's queue grows without bound and it is never told it is behind
//! Fails: a_lagging_subscriber_is_told_how_many_events_it_missed
//! The notification hub of a small web service.
//!
//! Every open browser session subscribes to the hub. It must see every event the service
//! publishes (order updates), and it reads the service's runtime config (rate limits), which
//! operators change while the service runs.

use std::sync::Mutex;

use tokio::sync::{mpsc, watch};

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
    subscribers: Mutex<Vec<mpsc::UnboundedSender<Event>>>,
    config: watch::Sender<Config>,
}

impl Hub {
    /// A hub that starts with `config` and keeps a backlog of up to `capacity` events for
    /// subscribers that have not read them yet.
    pub fn new(_capacity: usize, config: Config) -> Hub {
        Hub {
            subscribers: Mutex::new(Vec::new()),
            config: watch::Sender::new(config),
        }
    }

    /// Publishes `event` to every subscriber. A slow subscriber must never hold the publisher up:
    /// once it is more than `capacity` events behind, it loses the oldest ones and is told so.
    pub async fn publish(&self, event: Event) {
        // An unbounded queue per subscriber: sending never waits, so nobody holds us up.
        self.subscribers
            .lock()
            .unwrap()
            .retain(|subscriber| subscriber.send(event.clone()).is_ok());
    }

    /// A new subscriber, for one session. It sees every event published from now on.
    pub fn subscribe(&self) -> Subscriber {
        let (sender, events) = mpsc::unbounded_channel();
        self.subscribers.lock().unwrap().push(sender);
        Subscriber { events }
    }

    /// Replaces the config. Every reader sees the new one from now on.
    pub fn set_config(&self, config: Config) {
        self.config.send_replace(config);
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
    events: mpsc::UnboundedReceiver<Event>,
}

impl Subscriber {
    /// The next event, in the order they were published.
    pub async fn recv(&mut self) -> Result<Event, RecvError> {
        self.events.recv().await.ok_or(RecvError::Closed)
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
        self.config.changed().await.ok()?;
        Some(self.config.borrow_and_update().clone())
    }
}
