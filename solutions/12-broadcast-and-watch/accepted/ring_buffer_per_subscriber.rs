//! Accepted: each subscriber gets its own bounded queue that drops its oldest event when full and counts what it dropped, woken by its own Notify; the config is a watch channel
//! The notification hub of a small web service.
//!
//! Every open browser session subscribes to the hub. It must see every event the service
//! publishes (order updates), and it reads the service's runtime config (rate limits), which
//! operators change while the service runs.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{watch, Notify};

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
    capacity: usize,
    /// One inbox per live subscriber. Dropped subscribers are pruned on the next publish.
    subscribers: Mutex<Vec<Weak<Inbox>>>,
    config: watch::Sender<Config>,
}

/// What one subscriber has not read yet.
struct Inbox {
    backlog: Mutex<Backlog>,
    /// Holds a wake-up for the subscriber, even when it is not waiting yet.
    ready: Notify,
}

#[derive(Default)]
struct Backlog {
    events: VecDeque<Event>,
    /// Events dropped since the subscriber last read, because it fell behind.
    missed: u64,
    closed: bool,
}

impl Inbox {
    fn update(&self, change: impl FnOnce(&mut Backlog)) {
        change(&mut self.backlog.lock().unwrap());
        // Stores a permit if the subscriber is not waiting yet, so the wake-up is never lost.
        self.ready.notify_one();
    }
}

impl Hub {
    /// A hub that starts with `config` and keeps a backlog of up to `capacity` events for
    /// subscribers that have not read them yet.
    pub fn new(capacity: usize, config: Config) -> Hub {
        Hub {
            capacity,
            subscribers: Mutex::new(Vec::new()),
            config: watch::Sender::new(config),
        }
    }

    /// Publishes `event` to every subscriber. A slow subscriber must never hold the publisher up:
    /// once it is more than `capacity` events behind, it loses the oldest ones and is told so.
    pub async fn publish(&self, event: Event) {
        let mut subscribers = self.subscribers.lock().unwrap();
        subscribers.retain(|inbox| {
            let Some(inbox) = inbox.upgrade() else {
                return false;
            };
            inbox.update(|backlog| {
                backlog.events.push_back(event.clone());
                if backlog.events.len() > self.capacity {
                    backlog.events.pop_front();
                    backlog.missed += 1;
                }
            });
            true
        });
    }

    /// A new subscriber, for one session. It sees every event published from now on.
    pub fn subscribe(&self) -> Subscriber {
        let inbox = Arc::new(Inbox {
            backlog: Mutex::new(Backlog::default()),
            ready: Notify::new(),
        });
        self.subscribers
            .lock()
            .unwrap()
            .push(Arc::downgrade(&inbox));
        Subscriber { inbox }
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

impl Drop for Hub {
    fn drop(&mut self) {
        // Tell every subscriber that nothing more will come.
        for inbox in self.subscribers.lock().unwrap().iter() {
            if let Some(inbox) = inbox.upgrade() {
                inbox.update(|backlog| backlog.closed = true);
            }
        }
    }
}

/// One session's view of the events.
pub struct Subscriber {
    inbox: Arc<Inbox>,
}

impl Subscriber {
    /// The next event, in the order they were published.
    pub async fn recv(&mut self) -> Result<Event, RecvError> {
        loop {
            {
                let mut backlog = self.inbox.backlog.lock().unwrap();
                if backlog.missed > 0 {
                    return Err(RecvError::Lagged(std::mem::take(&mut backlog.missed)));
                }
                if let Some(event) = backlog.events.pop_front() {
                    return Ok(event);
                }
                if backlog.closed {
                    return Err(RecvError::Closed);
                }
            }
            self.inbox.ready.notified().await;
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
