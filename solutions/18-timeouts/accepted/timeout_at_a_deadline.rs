//! Accepted: computes this call's deadline when the call starts and races the request against it with `timeout_at`
//! Client for the pricing service: checkout asks it for the price of every line in a cart.
//!
//! Incident report: "The pricing service hung for twenty minutes: its process was up and took
//! requests, but never answered. Checkout hung with it. Every request handler sat waiting for a
//! quote until the web server ran out of connections. The config says quotes time out after
//! 2 s. They don't."

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// The price of one article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub sku: String,
    pub price_cents: u64,
}

/// The pricing service as this client sees it. In production `fetch_quote` is an HTTP request.
pub trait PricingService: Send + Sync {
    /// Asks for the current price of `sku`. `Err` carries the service's own error message.
    fn fetch_quote(&self, sku: &str) -> impl Future<Output = Result<Quote, String>> + Send;
}

/// Why there is no quote. Callers handle the two cases differently: checkout retries a timeout
/// (perhaps against another replica) but shows "not for sale" for a rejection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuoteError {
    /// The pricing service did not answer within the configured timeout.
    TimedOut,
    /// The pricing service answered with an error, e.g. an unknown SKU.
    Rejected(String),
}

impl fmt::Display for QuoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuoteError::TimedOut => write!(f, "the pricing service did not answer in time"),
            QuoteError::Rejected(reason) => {
                write!(f, "the pricing service rejected the request: {reason}")
            }
        }
    }
}

impl std::error::Error for QuoteError {}

pub struct QuoteClient<S> {
    service: S,
    timeout: Duration,
}

impl<S: PricingService> QuoteClient<S> {
    /// `timeout` is the longest a caller may wait for a quote.
    pub fn new(service: S, timeout: Duration) -> Self {
        QuoteClient { service, timeout }
    }

    /// The current price of `sku`, or why there is none.
    pub async fn quote(&self, sku: &str) -> Result<Quote, QuoteError> {
        let deadline = Instant::now() + self.timeout;
        match tokio::time::timeout_at(deadline, self.service.fetch_quote(sku)).await {
            Ok(Ok(quote)) => Ok(quote),
            Ok(Err(reason)) => Err(QuoteError::Rejected(reason)),
            Err(_elapsed) => Err(QuoteError::TimedOut),
        }
    }
}
