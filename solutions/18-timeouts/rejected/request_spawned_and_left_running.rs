//! Rejected: runs the request in a spawned task and times out its JoinHandle, so a timed-out request is left running, holding its connection
//! Fails: a_timed_out_request_is_cancelled
//! Client for the pricing service: checkout asks it for the price of every line in a cart.
//!
//! Incident report: "The pricing service hung for twenty minutes: its process was up and took
//! requests, but never answered. Checkout hung with it. Every request handler sat waiting for a
//! quote until the web server ran out of connections. The config says quotes time out after
//! 2 s. They don't."

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

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
    service: Arc<S>,
    timeout: Duration,
}

impl<S: PricingService + 'static> QuoteClient<S> {
    /// `timeout` is the longest a caller may wait for a quote.
    pub fn new(service: S, timeout: Duration) -> Self {
        QuoteClient {
            service: Arc::new(service),
            timeout,
        }
    }

    /// The current price of `sku`, or why there is none.
    pub async fn quote(&self, sku: &str) -> Result<Quote, QuoteError> {
        // The request runs on its own, so that nothing here can hold it up, and we only wait
        // for its handle as long as the timeout allows.
        let service = Arc::clone(&self.service);
        let sku = sku.to_string();
        let request = tokio::spawn(async move { service.fetch_quote(&sku).await });
        match tokio::time::timeout(self.timeout, request).await {
            Ok(Ok(answer)) => answer.map_err(QuoteError::Rejected),
            Ok(Err(crashed)) => Err(QuoteError::Rejected(crashed.to_string())),
            Err(_) => Err(QuoteError::TimedOut),
        }
    }
}
