//! Rejected: splits the SKUs into max_in_flight lanes of neighbours, fixed in advance, each fetched one at a time: a lane full of slow requests keeps working while the others sit idle
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

    // max_in_flight lanes, each working through its share of the SKUs one at a time.
    let share = skus.len().div_ceil(max_in_flight).max(1);
    let fetch = &fetch;
    let lanes = skus.chunks(share).map(|lane| async move {
        let mut prices = Vec::with_capacity(lane.len());
        for sku in lane {
            prices.push(fetch(sku.clone()).await);
        }
        prices
    });
    join_all(lanes).await.into_iter().flatten().collect()
}
