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

    // `join_all` polls every request at once: hundreds in flight, whatever the quota. A stream
    // of request futures run through `buffered(n)` is a sliding window instead: at most n in
    // flight, and the next request starts as soon as one finishes. `buffered` hands the results
    // back in input order (`buffer_unordered` would hand them back as they finish).
    stream::iter(skus)
        .map(|sku| fetch(sku.clone()))
        .buffered(max_in_flight)
        .collect()
        .await
}
