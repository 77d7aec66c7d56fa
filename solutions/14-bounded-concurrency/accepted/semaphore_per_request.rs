//! Accepted: every request waits for one of max_in_flight semaphore permits and holds it until answered; join_all keeps the order
//! Refresh the price cache: ask the pricing API for the price of every SKU in the catalogue.

use std::future::Future;

use futures::future::join_all;
use tokio::sync::Semaphore;

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

    // One permit per request in flight. The semaphore is fair, so requests start in SKU order
    // as permits come back: a sliding window.
    let permits = Semaphore::new(max_in_flight);
    let requests = skus.iter().map(|sku| {
        let permits = &permits;
        let request = fetch(sku.clone());
        async move {
            let _permit = permits
                .acquire()
                .await
                .expect("the semaphore is never closed");
            request.await
        }
    });
    join_all(requests).await
}
