//! Every test runs on a paused clock (`start_paused = true`): the fake database "takes" 50 ms per
//! write in virtual time (10 s in one test) and the writer's 1 s flush timer costs nothing, so the
//! tests run in microseconds. Each test plays the service: it spawns `run_writer`, sends points
//! like the request handlers do, and signals shutdown like the SIGTERM handler does.
//!
//! The promise under test: every point whose `send` returned `Ok` (or that went through a slot
//! reserved with `reserve`, whose `send` cannot fail) is in the database, exactly once, by the
//! time the writer task has returned; and after the shutdown signal the writer returns, although
//! request handlers still hold Senders.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use graceful_shutdown::{run_writer, BatchConfig, Point, Storage};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};

const CONFIG: BatchConfig = BatchConfig {
    max_batch: 10,
    flush_every: Duration::from_secs(1),
};

/// How long the fake database takes to store one batch.
const WRITE_LATENCY: Duration = Duration::from_millis(50);

/// How many points the channel holds.
const CAPACITY: usize = 64;

/// Far longer than anything here takes, even writing a full channel to a slow database.
const PATIENCE: Duration = Duration::from_secs(600);

fn point(value: u64) -> Point {
    Point {
        metric: "http_requests".to_string(),
        value,
    }
}

/// A fake time-series database that keeps every batch it stored. A batch counts as stored only
/// once its write has finished, as with a real database.
#[derive(Clone)]
struct FakeDb {
    latency: Duration,
    batches: Arc<Mutex<Vec<Vec<Point>>>>,
}

impl FakeDb {
    fn new(latency: Duration) -> FakeDb {
        FakeDb {
            latency,
            batches: Arc::default(),
        }
    }

    fn batches(&self) -> Vec<Vec<Point>> {
        self.batches.lock().unwrap().clone()
    }
}

impl Storage for FakeDb {
    async fn write_batch(&mut self, batch: Vec<Point>) {
        sleep(self.latency).await;
        self.batches.lock().unwrap().push(batch);
    }
}

/// A running writer, and the ends of its channels that the service holds.
struct Service {
    points: mpsc::Sender<Point>,
    shutdown: watch::Sender<bool>,
    writer: JoinHandle<()>,
    db: FakeDb,
}

/// Spawns the writer and lets it settle: by the time this returns, it has started its flush
/// timer and is idle, waiting for points.
async fn start() -> Service {
    start_with(WRITE_LATENCY).await
}

/// `start`, with a database that takes `latency` per write.
async fn start_with(latency: Duration) -> Service {
    let (points, rx) = mpsc::channel(CAPACITY);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let db = FakeDb::new(latency);
    let writer = tokio::spawn(run_writer(rx, db.clone(), CONFIG, shutdown_rx));
    sleep(Duration::from_millis(1)).await;
    Service {
        points,
        shutdown,
        writer,
        db,
    }
}

/// Waits for the writer task to end, for at most `PATIENCE` of virtual time.
async fn writer_exits(writer: JoinHandle<()>, hang: &str) {
    timeout(PATIENCE, writer)
        .await
        .unwrap_or_else(|_| panic!("{hang}"))
        .expect("the writer task panicked");
}

impl Service {
    /// Signals shutdown, as the SIGTERM handler does, and waits for the writer to finish. The
    /// request handlers' Sender stays alive meanwhile: at shutdown, some handler always still
    /// holds one. Returns the database.
    async fn shut_down(self) -> FakeDb {
        self.shutdown
            .send(true)
            .expect("the writer dropped its shutdown receiver before shutdown was signalled");
        writer_exits(
            self.writer,
            &format!(
                "the writer was still running {PATIENCE:?} (virtual) after the shutdown signal: \
                 it never finished shutting down. A request handler still holds a Sender, so \
                 waiting for the channel to close by itself (recv() returning None) can take \
                 forever; after the signal the writer must stop accepting points, write what it \
                 already accepted, and return"
            ),
        )
        .await;
        drop(self.points);
        self.db
    }
}

/// `values` for a message: the first ten, then how many more.
fn abridged(values: &[u64]) -> String {
    match values.len() {
        0..=10 => format!("{values:?}"),
        n => format!("{:?} and {} more", &values[..10], n - 10),
    }
}

/// The values in the database, with how often each was written.
fn written(db: &FakeDb) -> BTreeMap<u64, usize> {
    let mut written: BTreeMap<u64, usize> = BTreeMap::new();
    for point in db.batches().into_iter().flatten() {
        *written.entry(point.value).or_default() += 1;
    }
    written
}

/// Checks, right after the writer task has returned, that every accepted point reached the
/// database exactly once.
async fn assert_written_exactly_once(db: &FakeDb, accepted: &[u64], situation: &str) {
    let missing = |written: &BTreeMap<u64, usize>| -> Vec<u64> {
        accepted
            .iter()
            .copied()
            .filter(|value| !written.contains_key(value))
            .collect()
    };
    let now = missing(&written(db));
    if !now.is_empty() {
        // Were they lost, or are they still being written by something the writer left behind?
        sleep(PATIENCE).await;
        let later = missing(&written(db));
        let why = if later.len() < now.len() {
            "When the writer returned they were not stored yet: something it left running wrote \
             them later. The service exits as soon as the writer task returns, so in production \
             they are lost: the writer must return only once everything is stored"
        } else {
            "Their send() returned Ok, so the handlers believe they are stored; the writer \
             dropped them at shutdown"
        };
        panic!(
            "{} of {} accepted points were not in the database when the writer returned: {}. \
             {why}. Missing values: {}",
            now.len(),
            accepted.len(),
            situation,
            abridged(&now)
        );
    }
    let written = written(db);
    let duplicated: Vec<u64> = written
        .iter()
        .filter(|&(_, &times)| times > 1)
        .map(|(&value, _)| value)
        .collect();
    assert!(
        duplicated.is_empty(),
        "points {duplicated:?} were written to the database more than once: each accepted point \
         must be written exactly once"
    );
    let unknown: Vec<u64> = written
        .keys()
        .copied()
        .filter(|value| !accepted.contains(value))
        .collect();
    assert!(
        unknown.is_empty(),
        "points {unknown:?} were written although no handler's send() of them returned Ok"
    );
}

async fn send_all(points: &mpsc::Sender<Point>, values: std::ops::Range<u64>) -> Vec<u64> {
    for value in values.clone() {
        points
            .send(point(value))
            .await
            .expect("the writer refused a point before shutdown");
    }
    values.collect()
}

#[tokio::test(start_paused = true)]
async fn points_are_written_in_full_batches_and_on_the_timer() {
    let service = start().await;

    let accepted = send_all(&service.points, 0..25).await;

    sleep(Duration::from_millis(300)).await;
    let sizes: Vec<usize> = service.db.batches().iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        [10, 10],
        "300 ms after 25 points arrived, the database should hold two full batches of 10 (the \
         remaining 5 wait for the 1 s timer), but it got batches of these sizes"
    );

    sleep(Duration::from_secs(1)).await;
    let sizes: Vec<usize> = service.db.batches().iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        [10, 10, 5],
        "the 5 points left over should be written when the 1 s flush timer fires, but after \
         1.3 s the database got batches of these sizes"
    );
    assert_written_exactly_once(&service.db, &accepted, "without any shutdown").await;
}

#[tokio::test(start_paused = true)]
async fn the_writer_stops_when_every_sender_is_gone() {
    let Service {
        points,
        shutdown: _shutdown,
        writer,
        db,
    } = start().await;

    let accepted = send_all(&points, 0..3).await;
    drop(points);

    writer_exits(
        writer,
        "every Sender was dropped, yet the writer was still running 60 s (virtual) later: once \
         the channel is closed and empty, it should write what it holds and return",
    )
    .await;
    assert_written_exactly_once(
        &db,
        &accepted,
        "every Sender was dropped, and the writer returned without writing what it held",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_writes_the_batch_in_progress() {
    let service = start().await;

    let accepted = send_all(&service.points, 0..3).await;
    // Let the writer take the points into its batch. The batch is not full and the 1 s timer has
    // not fired yet, so nothing is written before the shutdown signal.
    sleep(Duration::from_millis(10)).await;
    let db = service.shut_down().await;

    assert_written_exactly_once(
        &db,
        &accepted,
        "the writer held them in a batch that was not full yet when the shutdown signal came",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_writes_the_points_still_queued() {
    let service = start().await;

    // 50 points wait in the channel when the signal comes: the writer has not taken any yet.
    let accepted = send_all(&service.points, 0..50).await;
    let db = service.shut_down().await;

    assert_written_exactly_once(
        &db,
        &accepted,
        "they were still queued in the channel when the shutdown signal came. Writing all 50 \
         takes five batches of 50 ms, and shutdown has to wait for that",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn points_sent_during_shutdown_are_written_or_refused() {
    let service = start().await;

    // A request handler that keeps sending a point every 10 ms until the writer refuses one.
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let handler = tokio::spawn({
        let points = service.points.clone();
        let accepted = Arc::clone(&accepted);
        async move {
            for value in 0.. {
                if points.send(point(value)).await.is_err() {
                    break;
                }
                accepted.lock().unwrap().push(value);
                sleep(Duration::from_millis(10)).await;
            }
        }
    });

    // SIGTERM arrives while points keep coming in and a batch is being written.
    sleep(Duration::from_millis(95)).await;
    let db = service.shut_down().await;
    timeout(PATIENCE, handler)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the writer has returned, yet a handler could still send points 60 s later: \
                 nobody is receiving them"
            )
        })
        .expect("the request handler panicked");

    let accepted = accepted.lock().unwrap().clone();
    assert_written_exactly_once(
        &db,
        &accepted,
        "a handler kept sending while the writer shut down. A point must either be refused \
         (send() returns Err, the handler knows) or be written: once shutdown starts, stop \
         accepting new points before writing the last batch",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn handlers_waiting_on_a_full_channel_are_written_or_refused() {
    let service = start().await;

    // The channel is full, and more handlers are waiting for room when the signal comes.
    let queued = send_all(&service.points, 0..CAPACITY as u64).await;
    let waiting: Vec<JoinHandle<Option<u64>>> = (0..6)
        .map(|n| {
            let points = service.points.clone();
            let value = CAPACITY as u64 + n;
            tokio::spawn(async move { points.send(point(value)).await.ok().map(|()| value) })
        })
        .collect();
    let db = service.shut_down().await;

    let mut accepted = queued;
    for handler in waiting {
        let sent = timeout(PATIENCE, handler)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "the writer has returned, yet a handler that was waiting for room in the \
                     channel was still waiting {PATIENCE:?} later: its send() should have failed"
                )
            })
            .expect("the request handler panicked");
        accepted.extend(sent);
    }
    assert_written_exactly_once(
        &db,
        &accepted,
        "the channel was full when the shutdown signal came, and six more handlers were waiting \
         for room. Each of their points must either be refused (send() returns Err) or be \
         written",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_point_whose_slot_was_reserved_before_shutdown_is_written() {
    let service = start().await;
    let mut accepted = send_all(&service.points, 0..3).await;

    // A handler reserves a slot in the channel first, then measures its point, which takes
    // 20 ms, and sends it through the slot: that send cannot fail, so the handler counts the
    // point as stored. The signal comes while it is measuring.
    let slot = service
        .points
        .clone()
        .reserve_owned()
        .await
        .expect("the writer refused a point before shutdown");
    let handler = tokio::spawn(async move {
        sleep(Duration::from_millis(20)).await;
        slot.send(point(99));
    });
    accepted.push(99);
    let db = service.shut_down().await;
    handler.await.expect("the request handler panicked");

    assert_written_exactly_once(
        &db,
        &accepted,
        "a handler had reserved a slot in the channel before the shutdown signal and sent its \
         point through it 20 ms after. A channel whose queue looks empty is not done while a \
         reserved slot is still out: the writer has to wait for the channel to tell it that \
         nothing more can come",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_slow_database_does_not_cut_the_drain_short() {
    // The database is struggling: each write takes 10 s, and a full channel waits.
    let latency = Duration::from_secs(10);
    let service = start_with(latency).await;
    let accepted = send_all(&service.points, 0..CAPACITY as u64).await;
    let db = service.shut_down().await;

    assert_written_exactly_once(
        &db,
        &accepted,
        &format!(
            "{CAPACITY} points were queued when the shutdown signal came, and the database takes \
             {latency:?} per write, so storing them takes over a minute. A drain that gives up \
             after some fixed time loses whatever is left at that moment: how long shutdown may \
             take is for whoever stops the process to decide, not for the writer to guess"
        ),
    )
    .await;
}
