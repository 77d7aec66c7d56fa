//! Accepted: a sliding window with buffer_unordered over (index, request) pairs, then the prices put back in SKU order by index
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

    // At most `max_in_flight` at once, each answer as soon as it comes; the index says where it
    // goes.
    let mut priced: Vec<(usize, Cents)> = stream::iter(skus.iter().enumerate())
        .map(|(index, sku)| {
            let request = fetch(sku.clone());
            async move { (index, request.await) }
        })
        .buffer_unordered(max_in_flight)
        .collect()
        .await;
    priced.sort_unstable_by_key(|&(index, _)| index);
    priced.into_iter().map(|(_, price)| price).collect()
}
