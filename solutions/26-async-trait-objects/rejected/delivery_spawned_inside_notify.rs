//! Rejected: `notify` spawns the delivery as a task of its own and returns a future of its `JoinHandle`: the delivery starts before anyone awaits it and goes on after the caller has given up
//! Fails: a_delivery_runs_only_while_its_future_is_awaited
//! Alert delivery for the on-call service. Each team says in its config where its alerts go: an
//! email address, a chat webhook or a pager's phone number, one channel per line.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use futures::future::{BoxFuture, FutureExt};

/// An alert raised by monitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub service: String,
    pub summary: String,
}

/// One request a notifier made, as the remote end received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// An email handed to the SMTP relay.
    Email { to: String, subject: String },
    /// A JSON body POSTed to a chat webhook.
    Webhook { url: String, json: String },
    /// A text message handed to the SMS gateway.
    Sms { number: String, text: String },
}

/// Stands in for the network: the SMTP relay, the chat service and the SMS gateway. Every request
/// takes one round trip. Clones share one log of what was received, so you can look inside.
#[derive(Debug, Clone, Default)]
pub struct Network {
    received: Arc<Mutex<Vec<Request>>>,
    down: Arc<AtomicBool>,
}

impl Network {
    const ROUND_TRIP: Duration = Duration::from_millis(200);

    pub async fn send(&self, request: Request) -> anyhow::Result<()> {
        tokio::time::sleep(Self::ROUND_TRIP).await;
        if self.down.load(Ordering::SeqCst) {
            bail!("connection refused");
        }
        self.received.lock().unwrap().push(request);
        Ok(())
    }

    /// Every request received so far, in the order they arrived.
    pub fn received(&self) -> Vec<Request> {
        self.received.lock().unwrap().clone()
    }

    /// From now on, every request fails (or, with `false`, succeeds again).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

/// A channel alerts can be delivered to. Which implementation a team gets is chosen at runtime
/// from its config (see `notifier_for`), and more are coming, so callers hold notifiers as
/// `Box<dyn Notifier>`. The alerting service delivers each alert to each of a team's channels
/// from its own spawned task, so that a slow channel does not hold up the others.
pub trait Notifier: Send + Sync {
    /// Where this notifier delivers, for logs and error messages.
    fn describe(&self) -> String;

    /// Delivers one alert. It talks to the network, so it is async.
    fn notify(&self, alert: &Alert) -> BoxFuture<'static, anyhow::Result<()>>;
}

pub struct EmailNotifier {
    to: String,
    network: Network,
}

impl Notifier for EmailNotifier {
    fn describe(&self) -> String {
        format!("email to {}", self.to)
    }

    fn notify(&self, alert: &Alert) -> BoxFuture<'static, anyhow::Result<()>> {
        let request = Request::Email {
            to: self.to.clone(),
            subject: format!("[{}] {}", alert.service, alert.summary),
        };
        // The delivery runs in a task of its own, so the future borrows nothing.
        let network = self.network.clone();
        let channel = self.describe();
        let delivery = tokio::spawn(async move {
            network
                .send(request)
                .await
                .with_context(|| format!("alerting by {channel}"))
        });
        async move { delivery.await? }.boxed()
    }
}

pub struct WebhookNotifier {
    url: String,
    network: Network,
}

impl Notifier for WebhookNotifier {
    fn describe(&self) -> String {
        format!("webhook {}", self.url)
    }

    fn notify(&self, alert: &Alert) -> BoxFuture<'static, anyhow::Result<()>> {
        let text = format!("[{}] {}", alert.service, alert.summary);
        let request = Request::Webhook {
            url: self.url.clone(),
            // A Rust string literal escapes like a JSON string, as long as the text is printable.
            json: format!("{{\"text\":{text:?}}}"),
        };
        // The delivery runs in a task of its own, so the future borrows nothing.
        let network = self.network.clone();
        let channel = self.describe();
        let delivery = tokio::spawn(async move {
            network
                .send(request)
                .await
                .with_context(|| format!("alerting by {channel}"))
        });
        async move { delivery.await? }.boxed()
    }
}

pub struct SmsNotifier {
    number: String,
    network: Network,
}

impl SmsNotifier {
    /// The longest text a single SMS carries.
    const MAX_CHARS: usize = 160;
}

impl Notifier for SmsNotifier {
    fn describe(&self) -> String {
        format!("SMS to {}", self.number)
    }

    fn notify(&self, alert: &Alert) -> BoxFuture<'static, anyhow::Result<()>> {
        let text = format!("{}: {}", alert.service, alert.summary)
            .chars()
            .take(Self::MAX_CHARS)
            .collect();
        let request = Request::Sms {
            number: self.number.clone(),
            text,
        };
        // The delivery runs in a task of its own, so the future borrows nothing.
        let network = self.network.clone();
        let channel = self.describe();
        let delivery = tokio::spawn(async move {
            network
                .send(request)
                .await
                .with_context(|| format!("alerting by {channel}"))
        });
        async move { delivery.await? }.boxed()
    }
}

/// One line of a team's on-call config: `email:<address>`, `webhook:<url>` or `sms:<number>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    Email { to: String },
    Webhook { url: String },
    Sms { number: String },
}

impl FromStr for Channel {
    type Err = anyhow::Error;

    fn from_str(line: &str) -> anyhow::Result<Channel> {
        let Some((kind, target)) = line.split_once(':') else {
            bail!("alert channel {line:?} is not of the form `<channel>:<target>`");
        };
        let target = target.trim().to_string();
        Ok(match kind.trim() {
            "email" => Channel::Email { to: target },
            "webhook" => Channel::Webhook { url: target },
            "sms" => Channel::Sms { number: target },
            other => bail!("unknown alert channel {other:?} in {line:?}"),
        })
    }
}

/// Builds the notifier for one channel of a team's config. Which implementation that is depends
/// on the config, so it is only known at runtime: the notifier comes back as a trait object.
pub fn notifier_for(channel: &Channel, network: &Network) -> Box<dyn Notifier> {
    let network = network.clone();
    match channel {
        Channel::Email { to } => Box::new(EmailNotifier {
            to: to.clone(),
            network,
        }),
        Channel::Webhook { url } => Box::new(WebhookNotifier {
            url: url.clone(),
            network,
        }),
        Channel::Sms { number } => Box::new(SmsNotifier {
            number: number.clone(),
            network,
        }),
    }
}
