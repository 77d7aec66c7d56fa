//! Rejected: awaits each request before sending the next: never over the quota, but one request in flight where ten are allowed
//! Fails: keeps_max_in_flight_requests_going, finishes_as_soon_as_a_sliding_window_would
//! Refresh the price cache: ask the pricing API for the price of every SKU in the catalogue.

use std::future::Future;

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

    // One request at a time can never exceed the quota.
    let mut prices = Vec::with_capacity(skus.len());
    for sku in skus {
        prices.push(fetch(sku.clone()).await);
    }
    prices
}
