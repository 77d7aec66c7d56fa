//! Rejected: a sliding window of 10, the quota from the incident report, instead of max_in_flight
//! Fails: never_more_than_max_in_flight_requests
//! Refresh the price cache: ask the pricing API for the price of every SKU in the catalogue.

use std::future::Future;

use futures::stream::{self, StreamExt};

/// A price in cents.
pub type Cents = u64;

/// Fetches the price of every SKU, with at most `max_in_flight` requests to the pricing API in
/// flight at any moment (the quota it grants each client). `prices[i]` is the price of `skus[i]`.
///
/// `fetch` sends one request to the pricing API and resolves to the price of one SKU.
pub async fn fetch_prices<F, Fut>(skus: &[String], max_in_flight: usize, fetch: F) -> Vec<Cents>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Cents>,
{
    assert!(max_in_flight > 0, "max_in_flight must be at least 1");

    // The pricing API allows 10 concurrent requests per client.
    stream::iter(skus)
        .map(|sku| fetch(sku.clone()))
        .buffered(10)
        .collect()
        .await
}
