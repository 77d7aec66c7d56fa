//! Accepted: counts lines and gives the thread back with `yield_now` every 256 of them.
//! Pricing a batch of order lines from an in-process price cache.
//!
//! Bug report from the API team: "Whenever someone re-prices a big batch, every other request on
//! that worker stalls until the batch is done, even the health check. Nothing is blocking: there
//! is no `std::thread::sleep`, no blocking I/O, and the loop `.await`s on every line."

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

pub type Sku = u32;
pub type Cents = u64;

/// One line of an order: so many units of one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub sku: Sku,
    pub quantity: u32,
}

/// Unit prices, kept in memory and refreshed from the pricing service elsewhere.
#[derive(Debug, Default)]
pub struct PriceCache {
    prices: HashMap<Sku, Cents>,
    lookups: AtomicU64,
}

impl PriceCache {
    pub fn new(prices: impl IntoIterator<Item = (Sku, Cents)>) -> Self {
        PriceCache {
            prices: prices.into_iter().collect(),
            lookups: AtomicU64::new(0),
        }
    }

    /// The unit price of `sku`, if it is known. It is `async` so that a miss can go to the
    /// pricing service one day; today every answer comes straight from memory.
    pub async fn price(&self, sku: Sku) -> Option<Cents> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        self.prices.get(&sku).copied()
    }

    /// How many lookups the cache has served so far (a metric for the dashboard).
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }
}

/// The total price of every line in the batch. Lines with an unknown SKU are skipped.
/// A batch can hold hundreds of thousands of lines.
pub async fn batch_total(lines: &[Line], cache: &PriceCache) -> Cents {
    let mut total = 0;
    for (i, line) in lines.iter().enumerate() {
        // `price` answers from memory, so its `.await` never gives the thread back. Do it by
        // hand every 256 lines.
        if i % 256 == 255 {
            tokio::task::yield_now().await;
        }
        if let Some(price) = cache.price(line.sku).await {
            total += price * Cents::from(line.quantity);
        }
    }
    total
}
