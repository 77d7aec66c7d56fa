//! Rejected: sends the requests in batches of max_in_flight and waits for each batch to finish: within the quota, but every batch waits for its slowest request while the other slots idle
//! Fails: finishes_as_soon_as_a_sliding_window_would
//! Refresh the price cache: ask the pricing API for the price of every SKU in the catalogue.

use std::future::Future;

use futures::future::join_all;

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

    // Never more than the quota at once: one batch at a time.
    let mut prices = Vec::with_capacity(skus.len());
    for batch in skus.chunks(max_in_flight) {
        prices.extend(join_all(batch.iter().map(|sku| fetch(sku.clone()))).await);
    }
    prices
}
