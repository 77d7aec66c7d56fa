//! The metrics writer: request handlers hand it data points over a channel, and it writes them
//! to the time-series database in batches, because one insert per point would swamp the database.
//! The reference solution.

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
            // Shutting down must not lose what was accepted: the points in `batch` and those still
            // queued in the channel. So do not return here; stop accepting instead. After
            // `close`, every further `send` fails (the handler learns its point was refused),
            // while the queued points can still be received. The loop drains them, and once
            // nothing more can arrive (the queue is empty and no reserved slot is still out)
            // `recv` returns `None`, even though handlers still hold Senders: the arm below
            // writes the last batch and returns. (Once closed, this arm is switched off: if the
            // signal's sender goes away, `changed()` would be ready on every pass.)
            _ = shutdown.changed(), if !points.is_closed() => points.close(),

            point = points.recv() => match point {
                Some(point) => {
                    batch.push(point);
                    if batch.len() >= config.max_batch {
                        storage.write_batch(std::mem::take(&mut batch)).await;
                    }
                }
                // Closed and empty (after shutdown, or once every handler is gone): write what is
                // left and stop.
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
