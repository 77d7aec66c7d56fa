//! Every test runs on a current-thread runtime (the `#[tokio::test]` default): one thread, so
//! tasks take turns, and a task gives the thread back only when one of its awaits returns
//! `Pending`. A "ticker" task stands in for the other requests on that thread: each time it gets
//! a turn, it writes down how many prices the cache has served so far, then yields.

use std::sync::{Arc, Mutex};

use cooperative_scheduling::{batch_total, Cents, Line, PriceCache, Sku};
use tokio::task::JoinHandle;

/// A big batch. Even in a debug build it is priced in a few milliseconds.
const LINES: usize = 100_000;

/// The longest run of lines a batch may price without letting the ticker have a turn. Generous
/// on purpose: when two tasks yield to each other, Tokio's scheduler may let the batch run twice
/// in a row before the ticker's turn, so yielding every N lines can show up as gaps of 2 N.
const MAX_LINES_WITHOUT_A_TURN: u64 = 10_000;

/// SKUs 0..100 have a price; 100..120 are unknown to the cache and skipped.
fn cache() -> Arc<PriceCache> {
    Arc::new(PriceCache::new(
        (0..100).map(|sku: Sku| (sku, Cents::from(sku) + 1)),
    ))
}

fn batch() -> Vec<Line> {
    (0..LINES)
        .map(|i| Line {
            sku: (i % 120) as Sku,
            quantity: (i % 3) as u32 + 1,
        })
        .collect()
}

fn expected_total(lines: &[Line]) -> Cents {
    lines
        .iter()
        .filter(|line| line.sku < 100)
        .map(|line| (Cents::from(line.sku) + 1) * Cents::from(line.quantity))
        .sum()
}

/// A task that, on each turn it gets, records `cache.lookups()`, then yields the thread.
struct Ticker {
    samples: Arc<Mutex<Vec<u64>>>,
    task: JoinHandle<()>,
}

impl Ticker {
    fn start(cache: &Arc<PriceCache>) -> Ticker {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let samples = Arc::clone(&samples);
            let cache = Arc::clone(cache);
            async move {
                loop {
                    samples.lock().unwrap().push(cache.lookups());
                    tokio::task::yield_now().await;
                }
            }
        });
        Ticker { samples, task }
    }

    /// Stops the ticker and returns, for each of its turns, how many lines had been priced.
    fn stop(self) -> Vec<u64> {
        self.task.abort();
        let samples = self.samples.lock().unwrap();
        samples.clone()
    }
}

/// Prices `lines` in a task of its own, like a request handler, while a ticker runs beside it
/// on the same thread. Returns the total and the ticker's samples.
async fn price_beside_a_ticker(lines: Vec<Line>) -> (Cents, Vec<u64>) {
    let cache = cache();
    let ticker = Ticker::start(&cache);
    let handler = tokio::spawn(async move { batch_total(&lines, &cache).await });
    let total = handler.await.expect("the batch task panicked");
    (total, ticker.stop())
}

#[tokio::test]
async fn batch_total_prices_every_line() {
    let lines = batch();
    let expected = expected_total(&lines);

    let (total, _) = price_beside_a_ticker(lines).await;

    assert_eq!(
        total, expected,
        "batch_total of {LINES} lines is wrong (lines with an unknown SKU count as 0)"
    );
}

#[tokio::test]
async fn ticker_gets_a_turn_while_a_big_batch_is_priced() {
    let (_, samples) = price_beside_a_ticker(batch()).await;

    let during = samples
        .iter()
        .filter(|&&priced| priced > 0 && priced < LINES as u64)
        .count();
    assert!(
        during > 0,
        "while batch_total priced {LINES} lines, the ticker task on the same thread got no turn \
         at all (it ran {} time(s), all before the first line or after the last): the loop \
         never gave the thread back. An `.await` on a future that is already ready does not yield, so \
         every other task on this thread starves until the whole batch is done",
        samples.len()
    );
}

/// The longest run of lines priced without a turn for the ticker, from the first line of a batch
/// of `len` lines to the last: `(from, to)`.
fn longest_wait(samples: &[u64], len: usize) -> (u64, u64) {
    let len = len as u64;
    let mut turns: Vec<u64> = samples
        .iter()
        .copied()
        .filter(|&priced| priced < len)
        .collect();
    turns.insert(0, 0);
    turns.push(len);
    turns
        .windows(2)
        .map(|pair| (pair[0], pair[1]))
        .max_by_key(|(from, to)| to - from)
        .expect("there are always two turns")
}

#[tokio::test]
async fn ticker_never_waits_for_more_than_10000_lines() {
    let (_, samples) = price_beside_a_ticker(batch()).await;

    let (from, to) = longest_wait(&samples, LINES);
    assert!(
        to - from <= MAX_LINES_WITHOUT_A_TURN,
        "the ticker task on the same thread had to wait while batch_total priced {} lines in a \
         row (lines {from} to {to} of {LINES}): a task gives the thread back only when an await \
         returns Pending, so every other task was stuck that long. Give the thread back regularly \
         all through the batch (every few hundred lines is typical), so that no stretch without \
         a turn for others exceeds {MAX_LINES_WITHOUT_A_TURN} lines",
        to - from
    );
}

/// Batches unlike the usual mix: every SKU priced, or none at all.
fn other_batches() -> Vec<(&'static str, Vec<Line>)> {
    let line = |i: usize, sku: Sku| Line {
        sku,
        quantity: (i % 5) as u32 + 1,
    };
    vec![
        (
            "30000 lines, every one with a known SKU",
            (0..30_000).map(|i| line(i, (i % 100) as Sku)).collect(),
        ),
        (
            "30000 lines, none with a known SKU",
            (0..30_000)
                .map(|i| line(i, 100 + (i % 20) as Sku))
                .collect(),
        ),
    ]
}

#[tokio::test]
async fn batch_total_prices_batches_of_any_kind() {
    let mut batches = other_batches();
    batches.push(("an empty batch", Vec::new()));
    for (what, lines) in batches {
        let expected = expected_total(&lines);
        let (total, _) = price_beside_a_ticker(lines).await;
        assert_eq!(
            total, expected,
            "batch_total of {what} is wrong (lines with an unknown SKU count as 0)"
        );
    }
}

#[tokio::test]
async fn ticker_never_waits_for_more_than_10000_lines_whatever_the_batch_holds() {
    for (what, lines) in other_batches() {
        let len = lines.len();
        let (_, samples) = price_beside_a_ticker(lines).await;

        let (from, to) = longest_wait(&samples, len);
        assert!(
            to - from < len as u64,
            "while batch_total priced a batch of {what}, the ticker task on the same thread got \
             no turn at all from the first line to the last: with lines like these, the loop never \
             gives the thread back. Every line holds the thread while it is priced, known SKU or \
             not"
        );
        assert!(
            to - from <= MAX_LINES_WITHOUT_A_TURN,
            "with a batch of {what}, the ticker task on the same thread had to wait while \
             batch_total priced {} lines in a row (lines {from} to {to}): with lines like these, \
             the loop gives the thread back too rarely. No stretch without a turn for others may \
             exceed {MAX_LINES_WITHOUT_A_TURN} lines, whatever the batch holds",
            to - from
        );
    }
}
