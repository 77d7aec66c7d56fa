//! Accepted: for_each_concurrent with max_in_flight as its limit, each request writing its price into the SKU's own slot
//! Refresh the price cache: ask the pricing API for the price of every SKU in the catalogue.

use std::future::Future;

use std::sync::Mutex;

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

    let slots = Mutex::new(vec![0; skus.len()]);
    stream::iter(skus.iter().enumerate())
        .for_each_concurrent(max_in_flight, |(index, sku)| {
            let request = fetch(sku.clone());
            let slots = &slots;
            async move {
                let price = request.await;
                slots.lock().unwrap()[index] = price;
            }
        })
        .await;
    slots.into_inner().unwrap()
}
