//! Rejected: publishes events through a watch channel, which keeps only the latest value, so events published faster than a subscriber reads replace each other unseen
//! Fails: every_subscriber_sees_every_event_in_order, a_subscriber_within_the_backlog_misses_nothing, a_lagging_subscriber_is_told_how_many_events_it_missed
//! The notification hub of a small web service.
//!
//! Every open browser session subscribes to the hub. It must see every event the service
//! publishes (order updates), and it reads the service's runtime config (rate limits), which
//! operators change while the service runs.

use tokio::sync::watch;

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
    events: watch::Sender<Option<Event>>,
    config: watch::Sender<Config>,
}

impl Hub {
    /// A hub that starts with `config` and keeps a backlog of up to `capacity` events for
    /// subscribers that have not read them yet.
    pub fn new(_capacity: usize, config: Config) -> Hub {
        Hub {
            events: watch::Sender::new(None),
            config: watch::Sender::new(config),
        }
    }

    /// Publishes `event` to every subscriber. A slow subscriber must never hold the publisher up:
    /// once it is more than `capacity` events behind, it loses the oldest ones and is told so.
    pub async fn publish(&self, event: Event) {
        // `watch` reaches every subscriber and never waits.
        self.events.send_replace(Some(event));
    }

    /// A new subscriber, for one session. It sees every event published from now on.
    pub fn subscribe(&self) -> Subscriber {
        Subscriber {
            events: self.events.subscribe(),
        }
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
    events: watch::Receiver<Option<Event>>,
}

impl Subscriber {
    /// The next event, in the order they were published.
    pub async fn recv(&mut self) -> Result<Event, RecvError> {
        loop {
            self.events.changed().await.map_err(|_| RecvError::Closed)?;
            if let Some(event) = self.events.borrow_and_update().clone() {
                return Ok(event);
            }
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
        self.config.changed().await.ok()?;
        Some(self.config.borrow_and_update().clone())
    }
}
