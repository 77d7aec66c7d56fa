//! Every test runs on a paused clock (`start_paused = true`): virtual time only moves when every
//! task is idle, and then jumps straight to the next timer. Minutes of traffic take microseconds,
//! and the tests know exactly when each sample was sent and when each upload happened.
//!
//! The contract under test is the one in `ship_samples`' doc comment: no sample waits longer than
//! `FLUSH_EVERY` (5 s) between being sent and being uploaded; batches, not one upload per sample;
//! a full batch goes out at once; nothing is lost when the channel closes. Any flush schedule
//! that keeps those promises passes (every 5 s from the start, 5 s after the first sample of a
//! batch, ...).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use timers_in_select::{ship_samples, FLUSH_EVERY, MAX_BATCH};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout, Instant};

/// Far longer than anything the shipper should need once its channel is closed.
const PATIENCE: Duration = Duration::from_secs(60);

/// One call to `upload`: when it happened (virtual time since the test started) and what it got.
#[derive(Debug, Clone)]
struct Upload {
    at: Duration,
    samples: Vec<String>,
}

/// A fake metrics store that answers at once and records every upload.
#[derive(Clone)]
struct Store {
    start: Instant,
    uploads: Arc<Mutex<Vec<Upload>>>,
}

impl Store {
    fn new(start: Instant) -> Store {
        Store {
            start,
            uploads: Arc::default(),
        }
    }

    fn uploader(&self) -> impl FnMut(Vec<String>) -> std::future::Ready<()> + Send + 'static {
        let store = self.clone();
        move |samples| {
            store.uploads.lock().unwrap().push(Upload {
                at: store.start.elapsed(),
                samples,
            });
            std::future::ready(())
        }
    }

    fn uploads(&self) -> Vec<Upload> {
        self.uploads.lock().unwrap().clone()
    }

    /// When each sample was uploaded (the first time, if it was uploaded more than once).
    fn uploaded_at(&self) -> HashMap<String, Duration> {
        let mut at = HashMap::new();
        for upload in self.uploads() {
            for sample in upload.samples {
                at.entry(sample).or_insert(upload.at);
            }
        }
        at
    }

    /// Every sample uploaded, in upload order.
    fn all_samples(&self) -> Vec<String> {
        self.uploads()
            .into_iter()
            .flat_map(|upload| upload.samples)
            .collect()
    }
}

/// The shipper under test, running in its own task, and the sending side of its channel.
struct Harness {
    start: Instant,
    store: Store,
    tx: Option<mpsc::Sender<String>>,
    shipper: JoinHandle<()>,
    /// Every sample sent, with the virtual time it was sent at.
    sent: Vec<(String, Duration)>,
}

impl Harness {
    fn start() -> Harness {
        let start = Instant::now();
        let store = Store::new(start);
        let (tx, rx) = mpsc::channel(1_000);
        let shipper = tokio::spawn(ship_samples(rx, store.uploader()));
        Harness {
            start,
            store,
            tx: Some(tx),
            shipper,
            sent: Vec::new(),
        }
    }

    /// Waits until `at` (virtual time since the start), then sends one sample.
    async fn send_at(&mut self, at: Duration) {
        sleep_until(self.start + at).await;
        let sample = format!("sample {} (sent at {at:?})", self.sent.len() + 1);
        self.tx
            .as_ref()
            .expect("the channel is still open")
            .send(sample.clone())
            .await
            .expect("ship_samples stopped receiving while its channel was still open");
        self.sent.push((sample, at));
    }

    /// Every sample sent so far, in order.
    fn sent_samples(&self) -> Vec<String> {
        self.sent.iter().map(|(sample, _)| sample.clone()).collect()
    }

    /// Waits until `at` (virtual time since the start).
    async fn wait_until(&self, at: Duration) {
        sleep_until(self.start + at).await;
    }

    /// Drops the last sender and waits for `ship_samples` to return. Returns how long that took.
    async fn close(&mut self) -> Duration {
        let closed_at = self.start.elapsed();
        drop(self.tx.take());
        timeout(PATIENCE, &mut self.shipper)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "ship_samples was still running 60 s (virtual) after its channel closed: \
                     once every sender is gone it should upload what is left and return"
                )
            })
            .expect("ship_samples panicked");
        self.start.elapsed() - closed_at
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Sends one sample a second, at 1 s, 2 s, ..., `last` s.
async fn one_a_second(harness: &mut Harness, last: u64) {
    for s in 1..=last {
        harness.send_at(secs(s)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn steady_traffic_is_uploaded_while_it_lasts() {
    let mut harness = Harness::start();
    one_a_second(&mut harness, 20).await;
    harness.wait_until(Duration::from_millis(20_500)).await;

    let uploads = harness.store.uploads();
    let uploaded_at = harness.store.uploaded_at();
    let overdue: Vec<&(String, Duration)> = harness
        .sent
        .iter()
        .filter(|(sample, at)| *at <= secs(15) && !uploaded_at.contains_key(sample))
        .collect();
    assert!(
        overdue.is_empty(),
        "one sample a second for 20 s, and after 20.5 s of virtual time the shipper had made \
         {} upload(s): {} sample(s) sent more than 5 s earlier were still waiting, the \
         oldest sent at {:?}. The FLUSH_EVERY timer never fired: steady traffic keeps \
         postponing the flush",
        uploads.len(),
        overdue.len(),
        overdue[0].1,
    );
}

#[tokio::test(start_paused = true)]
async fn no_sample_waits_longer_than_flush_every() {
    let mut harness = Harness::start();
    // Busy: one sample a second for 12 s.
    one_a_second(&mut harness, 12).await;
    // Quiet, then a lone sample.
    harness.send_at(secs(30)).await;
    // A burst, then a sample every 2 s.
    for _ in 0..3 {
        harness.send_at(secs(40)).await;
    }
    for s in (42..=56).step_by(2) {
        harness.send_at(secs(s)).await;
    }
    // A sample every 4.5 s: just under FLUSH_EVERY.
    for n in 0..6 {
        harness
            .send_at(Duration::from_millis(60_000 + 4_500 * n))
            .await;
    }
    harness.wait_until(secs(100)).await;
    harness.close().await;

    let uploaded_at = harness.store.uploaded_at();
    let mut late: Vec<(String, Duration, Duration)> = Vec::new();
    for (sample, sent) in &harness.sent {
        let uploaded = *uploaded_at.get(sample).unwrap_or_else(|| {
            panic!("{sample} was never uploaded, not even when the channel closed")
        });
        if uploaded - *sent > FLUSH_EVERY {
            late.push((sample.clone(), *sent, uploaded));
        }
    }
    if let Some((sample, sent, uploaded)) = late.first() {
        panic!(
            "{} of {} samples waited longer than FLUSH_EVERY ({FLUSH_EVERY:?}) before they \
             were uploaded. The first: {sample} was uploaded only at {uploaded:?}, {:?} after \
             it was sent. While samples kept coming (one every 1, 2 or 4.5 s), the flush kept \
             being postponed",
            late.len(),
            harness.sent.len(),
            *uploaded - *sent,
        );
    }
}

#[tokio::test(start_paused = true)]
async fn samples_are_uploaded_in_batches() {
    let mut harness = Harness::start();
    one_a_second(&mut harness, 20).await;
    harness.close().await;

    let uploads = harness.store.uploads();
    let sizes: Vec<usize> = uploads.iter().map(|u| u.samples.len()).collect();
    assert!(
        !sizes.contains(&0),
        "the shipper uploaded an empty batch (batch sizes {sizes:?}): with nothing waiting \
         there is nothing to upload"
    );
    assert!(
        uploads.len() <= 6,
        "20 samples, one a second, went out in {} uploads (batch sizes {sizes:?}): far too \
         many requests, the batching is lost. One flush per FLUSH_EVERY ({FLUSH_EVERY:?}) \
         makes 4 or 5 uploads",
        uploads.len()
    );
    assert_eq!(
        harness.store.all_samples(),
        harness.sent_samples(),
        "every sample must be uploaded exactly once, in the order it was sent"
    );
}

#[tokio::test(start_paused = true)]
async fn a_full_batch_goes_out_at_once() {
    let mut harness = Harness::start();
    for _ in 0..250 {
        harness.send_at(Duration::ZERO).await;
    }
    harness.wait_until(Duration::from_millis(1)).await;

    let uploaded = harness.store.all_samples().len();
    assert!(
        uploaded >= 2 * MAX_BATCH,
        "250 samples arrived at once, but 1 ms later only {uploaded} had been uploaded: \
         every time MAX_BATCH ({MAX_BATCH}) samples are waiting they should go out at once, \
         without waiting for the timer"
    );

    harness.close().await;
    let sizes: Vec<usize> = harness
        .store
        .uploads()
        .iter()
        .map(|u| u.samples.len())
        .collect();
    assert!(
        sizes.iter().all(|&n| n <= MAX_BATCH),
        "an upload held more than MAX_BATCH ({MAX_BATCH}) samples: batch sizes {sizes:?}"
    );
    assert_eq!(
        harness.store.all_samples(),
        harness.sent_samples(),
        "every sample must be uploaded exactly once, in the order it was sent"
    );
}

#[tokio::test(start_paused = true)]
async fn closing_the_channel_uploads_the_rest_at_once() {
    let mut harness = Harness::start();
    for _ in 0..3 {
        harness.send_at(secs(1)).await;
    }
    let took = harness.close().await;

    assert!(
        took < secs(1),
        "ship_samples returned {took:?} after its channel closed: with every sender gone \
         it should upload what is left and return at once, not wait for a timer"
    );
    assert_eq!(
        harness.store.all_samples(),
        harness.sent_samples(),
        "when the channel closes, every sample still waiting must be uploaded, in order"
    );
}
