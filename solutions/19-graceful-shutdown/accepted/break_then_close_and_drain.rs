//! Accepted: breaks out of the loop on the signal, then closes the channel, drains it with `recv` in full batches and writes the rest
//! The metrics writer: request handlers hand it data points over a channel, and it writes them
//! to the time-series database in batches, because one insert per point would swamp the database.
//!
//! Bug report from ops: "After every deploy the dashboards show a gap: the last second or so of
//! metrics before the old instance stopped never reached the database. The writer shuts down
//! cleanly, no errors in the logs."

use std::future::Future;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

/// One measurement.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Point {
    pub metric: String,
    pub value: u64,
}

/// The time-series database, as the writer sees it. In production one call is one insert.
pub trait Storage: Send + 'static {
    /// Writes one batch of points. Returns once the database has stored them.
    fn write_batch(&mut self, batch: Vec<Point>) -> impl Future<Output = ()> + Send;
}

#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// A batch is written as soon as it holds this many points.
    pub max_batch: usize,
    /// A batch that is not full yet is written at least this often.
    pub flush_every: Duration,
}

/// Runs the writer until `shutdown` says so or every sender is gone. The service spawns it at
/// start-up and, on SIGTERM, sends `true` on the shutdown channel and awaits the task before the
/// process exits.
pub async fn run_writer<S: Storage>(
    mut points: mpsc::Receiver<Point>,
    mut storage: S,
    config: BatchConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut batch = Vec::with_capacity(config.max_batch);
    let mut ticker = tokio::time::interval(config.flush_every);

    loop {
        tokio::select! {
            // Shutting down: leave the loop and drain below.
            _ = shutdown.changed() => break,

            point = points.recv() => match point {
                Some(point) => {
                    batch.push(point);
                    if batch.len() >= config.max_batch {
                        storage.write_batch(std::mem::take(&mut batch)).await;
                    }
                }
                // Every handler is gone: write what is left and stop.
                None => {
                    if !batch.is_empty() {
                        storage.write_batch(batch).await;
                    }
                    return;
                }
            },

            _ = ticker.tick() => {
                if !batch.is_empty() {
                    storage.write_batch(std::mem::take(&mut batch)).await;
                }
            }
        }
    }

    // Stop accepting: further sends fail, the queued points (and any reserved slot) still come
    // out of `recv`, which returns `None` once nothing more can arrive.
    points.close();
    while let Some(point) = points.recv().await {
        batch.push(point);
        if batch.len() >= config.max_batch {
            storage.write_batch(std::mem::take(&mut batch)).await;
        }
    }
    if !batch.is_empty() {
        storage.write_batch(batch).await;
    }
}
