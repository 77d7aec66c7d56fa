//! Rejected: spreads the requests out in time instead of limiting them, so whenever requests take longer than the spacing assumes, more than max_in_flight pile up
//! Fails: never_more_than_max_in_flight_requests
//! Refresh the price cache: ask the pricing API for the price of every SKU in the catalogue.

use std::future::Future;

use std::time::Duration;

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

    // Requests take about 100 ms: start one every 100 ms / max_in_flight, and about
    // max_in_flight are in flight at any moment.
    let spacing = Duration::from_millis(100) / max_in_flight as u32;
    let requests = skus.iter().zip(0u32..).map(|(sku, i)| {
        let request = fetch(sku.clone());
        async move {
            tokio::time::sleep(spacing * i).await;
            request.await
        }
    });
    join_all(requests).await
}
