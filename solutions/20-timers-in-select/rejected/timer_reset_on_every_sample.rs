//! Rejected: one pinned `Sleep`, but reset whenever a sample arrives: the same postponed flush, written differently
//! Fails: steady_traffic_is_uploaded_while_it_lasts, no_sample_waits_longer_than_flush_every
//! Metrics shipping: every request handler drops its samples into one channel, and a background
//! task uploads them to the metrics store in batches, because one HTTP request per sample would
//! swamp it.
//!
//! Bug report from on-call: "During yesterday's traffic peak the latency graphs went flat: no
//! samples from the API servers for minutes, then a huge batch all at once when traffic died
//! down. On quiet nights, samples show up within 5 s as they should."

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep, Instant};

/// No sample may wait longer than this between arriving and being uploaded.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// The metrics store takes at most this many samples per upload.
pub const MAX_BATCH: usize = 100;

/// Collects samples from `samples` and hands them to `upload` in batches, in the order they came.
///
/// - A batch goes out as soon as it holds `MAX_BATCH` samples.
/// - No sample waits longer than `FLUSH_EVERY` before it is uploaded, however busy or quiet the
///   channel is.
/// - An empty batch is never uploaded.
/// - When every sender is gone, whatever is left is uploaded and the function returns.
///
/// `upload` deals with its own retries and errors.
pub async fn ship_samples<F, Fut>(mut samples: mpsc::Receiver<String>, mut upload: F)
where
    F: FnMut(Vec<String>) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut batch = Vec::new();
    let timer = sleep(FLUSH_EVERY);
    tokio::pin!(timer);
    loop {
        tokio::select! {
            sample = samples.recv() => match sample {
                Some(sample) => {
                    batch.push(sample);
                    // Give the batch a full FLUSH_EVERY from its latest sample.
                    timer.as_mut().reset(Instant::now() + FLUSH_EVERY);
                    if batch.len() >= MAX_BATCH {
                        upload(std::mem::take(&mut batch)).await;
                    }
                }
                // Every sender is gone.
                None => break,
            },
            () = &mut timer => {
                if !batch.is_empty() {
                    upload(std::mem::take(&mut batch)).await;
                }
                timer.as_mut().reset(Instant::now() + FLUSH_EVERY);
            }
        }
    }
    if !batch.is_empty() {
        upload(batch).await;
    }
}
