//! The notification hub of a small web service.
//!
//! Every open browser session subscribes to the hub. It must see every event the service
//! publishes (order updates), and it reads the service's runtime config (rate limits), which
//! operators change while the service runs.
//!
//! Bug reports: "With two tabs open, each tab shows only some of the order updates." "We lowered
//! the rate limit an hour ago and most sessions still use the old one." "At night, with no
//! session open, order processing stops after a few orders."

use std::sync::Arc;

use tokio::sync::{mpsc, Mutex};

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
    events_tx: mpsc::Sender<Event>,
    events_rx: Arc<Mutex<mpsc::Receiver<Event>>>,
    config: std::sync::Mutex<Config>,
    config_tx: mpsc::UnboundedSender<Config>,
    config_rx: Arc<Mutex<mpsc::UnboundedReceiver<Config>>>,
}

impl Hub {
    /// A hub that starts with `config` and keeps a backlog of up to `capacity` events for
    /// subscribers that have not read them yet.
    pub fn new(capacity: usize, config: Config) -> Hub {
        let (events_tx, events_rx) = mpsc::channel(capacity);
        let (config_tx, config_rx) = mpsc::unbounded_channel();
        Hub {
            events_tx,
            events_rx: Arc::new(Mutex::new(events_rx)),
            config: std::sync::Mutex::new(config),
            config_tx,
            config_rx: Arc::new(Mutex::new(config_rx)),
        }
    }

    /// Publishes `event` to every subscriber. A slow subscriber must never hold the publisher up:
    /// once it is more than `capacity` events behind, it loses the oldest ones and is told so.
    pub async fn publish(&self, event: Event) {
        // The hub holds the receiver itself, so the channel never closes and `send` cannot fail.
        let _ = self.events_tx.send(event).await;
    }

    /// A new subscriber, for one session. It sees every event published from now on.
    pub fn subscribe(&self) -> Subscriber {
        // Every session reads from the hub's event queue.
        Subscriber {
            events: Arc::clone(&self.events_rx),
        }
    }

    /// Replaces the config. Every reader sees the new one from now on.
    pub fn set_config(&self, config: Config) {
        *self.config.lock().unwrap() = config.clone();
        // Tell the readers about it: they pick it up from the update queue.
        let _ = self.config_tx.send(config);
    }

    /// A reader of the config, for one session.
    pub fn config(&self) -> ConfigReader {
        ConfigReader {
            latest: self.config.lock().unwrap().clone(),
            updates: Arc::clone(&self.config_rx),
        }
    }
}

/// One session's view of the events.
pub struct Subscriber {
    events: Arc<Mutex<mpsc::Receiver<Event>>>,
}

impl Subscriber {
    /// The next event, in the order they were published.
    pub async fn recv(&mut self) -> Result<Event, RecvError> {
        let mut events = self.events.lock().await;
        events.recv().await.ok_or(RecvError::Closed)
    }
}

/// One session's view of the config.
pub struct ConfigReader {
    latest: Config,
    updates: Arc<Mutex<mpsc::UnboundedReceiver<Config>>>,
}

impl ConfigReader {
    /// The latest config.
    pub fn current(&mut self) -> Config {
        // Catch up with the updates that arrived since we last looked. (If the queue is busy,
        // another reader is waiting in `changed`: keep what we have.)
        if let Ok(mut updates) = self.updates.try_lock() {
            while let Ok(config) = updates.try_recv() {
                self.latest = config;
            }
        }
        self.latest.clone()
    }

    /// Waits for a config this reader has not seen yet and returns it, or `None` once the hub is
    /// gone. An update made since the reader last looked (with `current` or `changed`) counts, so
    /// a reload loop (`current`, apply it, `changed`, apply it, ...) misses nothing.
    pub async fn changed(&mut self) -> Option<Config> {
        let config = self.updates.lock().await.recv().await?;
        self.latest = config.clone();
        Some(config)
    }
}
