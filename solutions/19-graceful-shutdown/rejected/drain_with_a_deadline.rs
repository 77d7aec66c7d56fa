//! Rejected: drains under a 10 s deadline, so when the database is slow the points left at the deadline are dropped quietly
//! Fails: a_slow_database_does_not_cut_the_drain_short
//! The metrics writer: request handlers hand it data points over a channel, and it writes them
//! to the time-series database in batches, because one insert per point would swamp the database.
//!
//! Bug report from ops: "After every deploy the dashboards show a gap: the last second or so of
//! metrics before the old instance stopped never reached the database. The writer shuts down
//! cleanly, no errors in the logs."

use std::future::Future;
use std::time::Duration;

use tokio::time::timeout;

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
            _ = shutdown.changed() => {
                points.close();
                // Never hold up a deploy for long: 10 s to drain, well inside the 30 s grace.
                let drain = async {
                    while let Some(point) = points.recv().await {
                        batch.push(point);
                        if batch.len() >= config.max_batch {
                            storage.write_batch(std::mem::take(&mut batch)).await;
                        }
                    }
                    if !batch.is_empty() {
                        storage.write_batch(std::mem::take(&mut batch)).await;
                    }
                };
                let _ = timeout(Duration::from_secs(10), drain).await;
                return;
            }

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
}
