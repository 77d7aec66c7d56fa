//! Every test runs on a paused clock (`start_paused = true`): virtual time only moves when every
//! task is idle, and then jumps straight to the next timer. A fake object store stands in for the
//! network: each part goes up in 100 ms chunks, and the store counts every chunk it receives,
//! every part it stores, and every part upload that is still alive (a drop guard inside each
//! upload future, so an aborted upload counts as gone too).
//!
//! The property: `upload_all` owns its part uploads. When a part fails, whichever part it is and
//! wherever it is in the list, its error comes back as soon as it happens; and once `upload_all`
//! has returned, or its caller has dropped it, no part upload is alive, sending chunks or storing
//! parts. A healthy upload stores every part, however many there are.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use joinset::{upload_all, Part, UploadError};
use tokio::time::{sleep, timeout, Instant};

/// Far longer than any upload in these tests takes (the slowest part takes 10 s).
const PATIENCE: Duration = Duration::from_secs(60);
/// The time the fake store takes to receive one chunk.
const CHUNK_TIME: Duration = Duration::from_millis(100);
/// A part of 100 chunks takes 10 s: still far from done when a quick part fails.
const SLOW: u32 = 100;

/// What the fake store does with one part: receive `chunks` chunks, then store it or fail (half
/// a chunk later, when the connection drops).
#[derive(Clone, Copy)]
struct Plan {
    chunks: u32,
    fails: bool,
}

const fn ok(chunks: u32) -> Plan {
    Plan {
        chunks,
        fails: false,
    }
}

const fn fails_after(chunks: u32) -> Plan {
    Plan {
        chunks,
        fails: true,
    }
}

/// An upload whose parts (numbered from 1) behave as planned.
struct Upload {
    /// How the messages describe it.
    name: &'static str,
    plans: Vec<Plan>,
}

impl Upload {
    fn parts(&self) -> Vec<Part> {
        (1..=self.plans.len() as u32)
            .map(|number| Part {
                number,
                data: vec![0; 1024],
            })
            .collect()
    }

    /// The part that fails first, and when.
    fn first_failure(&self) -> Option<(u32, Duration)> {
        self.plans
            .iter()
            .zip(1..)
            .filter(|(plan, _)| plan.fails)
            .map(|(plan, number)| (number, CHUNK_TIME * plan.chunks + CHUNK_TIME / 2))
            .min_by_key(|&(_, at)| at)
    }
}

/// The story: two quick parts and four slow ones; part 2 fails at 450 ms, right after quick
/// part 1 has finished.
fn part_2_fails() -> Upload {
    Upload {
        name: "the upload in which part 2 fails",
        plans: vec![
            ok(3),
            fails_after(4),
            ok(SLOW),
            ok(SLOW),
            ok(SLOW),
            ok(SLOW),
        ],
    }
}

/// Part 5 fails at 450 ms, while parts 1 and 2, earlier in the list, take 10 s each.
fn part_5_fails() -> Upload {
    Upload {
        name: "the upload in which part 5 fails behind two slow parts",
        plans: vec![
            ok(SLOW),
            ok(SLOW),
            ok(3),
            ok(SLOW),
            fails_after(4),
            ok(SLOW),
        ],
    }
}

/// Part 6 fails at 250 ms and part 1 at 750 ms: part 6's failure is the one that happens first.
fn parts_1_and_6_fail() -> Upload {
    Upload {
        name: "the upload in which part 6 fails first and part 1 later",
        plans: vec![
            fails_after(7),
            ok(SLOW),
            ok(SLOW),
            ok(2),
            ok(SLOW),
            fails_after(2),
        ],
    }
}

fn failing_uploads() -> [Upload; 3] {
    [part_2_fails(), part_5_fails(), parts_1_and_6_fail()]
}

#[derive(Default)]
struct Store {
    chunks_received: AtomicUsize,
    stored: Mutex<Vec<u32>>,
    uploads_alive: AtomicUsize,
}

impl Store {
    fn chunks(&self) -> usize {
        self.chunks_received.load(Ordering::SeqCst)
    }

    fn stored(&self) -> Vec<u32> {
        let mut stored = self.stored.lock().unwrap().clone();
        stored.sort();
        stored
    }

    fn alive(&self) -> usize {
        self.uploads_alive.load(Ordering::SeqCst)
    }
}

/// Counts one part upload as alive from its start until its future is dropped: when it ends, or
/// when its task is aborted.
struct Alive(Arc<Store>);

impl Alive {
    fn new(store: &Arc<Store>) -> Self {
        store.uploads_alive.fetch_add(1, Ordering::SeqCst);
        Alive(Arc::clone(store))
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.uploads_alive.fetch_sub(1, Ordering::SeqCst);
    }
}

type PartUpload = Pin<Box<dyn Future<Output = Result<(), UploadError>> + Send>>;

/// The upload function handed to `upload_all`: uploads a part to the fake store.
fn uploader(store: &Arc<Store>, upload: &Upload) -> impl Fn(Part) -> PartUpload {
    let store = Arc::clone(store);
    let plans = upload.plans.clone();
    move |part: Part| {
        let store = Arc::clone(&store);
        let Plan { chunks, fails } = plans[part.number as usize - 1];
        Box::pin(async move {
            let _alive = Alive::new(&store);
            for _ in 0..chunks {
                sleep(CHUNK_TIME).await;
                store.chunks_received.fetch_add(1, Ordering::SeqCst);
            }
            if fails {
                sleep(CHUNK_TIME / 2).await;
                return Err(UploadError {
                    part: part.number,
                    reason: "connection reset by peer".to_string(),
                });
            }
            store.stored.lock().unwrap().push(part.number);
            Ok(())
        })
    }
}

/// Runs a failing upload, checks that it reports the error of the part that failed first, and
/// returns how long `upload_all` took.
async fn run_failing(store: &Arc<Store>, upload: &Upload) -> Duration {
    let (part, at) = upload.first_failure().expect("a failing upload");
    let start = Instant::now();
    let result = timeout(
        PATIENCE,
        upload_all(upload.parts(), uploader(store, upload)),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "{}: upload_all did not return within 60 s of virtual time, although part {part} \
                 failed after {at:?} and every other part was done within 10 s: it is stuck",
            upload.name
        )
    });
    let took = start.elapsed();
    match &result {
        Err(error) if error.part == part => {}
        other => panic!(
            "{}: part {part} failed first, after {at:?}, so upload_all must return part \
             {part}'s error, but it returned {other:?} after {took:?}",
            upload.name
        ),
    }
    took
}

#[tokio::test(start_paused = true)]
async fn a_healthy_upload_uploads_every_part() {
    for parts in [6, 1, 0, 40] {
        let upload = Upload {
            name: "a healthy upload",
            plans: (0..parts).map(|i| ok(1 + i % 5)).collect(),
        };
        let store = Arc::new(Store::default());

        let result = timeout(
            PATIENCE,
            upload_all(upload.parts(), uploader(&store, &upload)),
        )
        .await
        .expect("upload_all did not return within 60 s of virtual time: it is stuck");

        assert!(
            result == Ok(parts as usize),
            "every one of {parts} parts uploaded fine, so upload_all should return \
             Ok({parts}), but it returned {result:?}"
        );
        let stored = store.stored();
        assert!(
            stored == (1..=parts).collect::<Vec<_>>(),
            "upload_all returned Ok, but of {parts} parts only {stored:?} were stored"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_part_is_reported_promptly() {
    for upload in failing_uploads() {
        let store = Arc::new(Store::default());

        let took = run_failing(&store, &upload).await;

        let (part, at) = upload.first_failure().expect("a failing upload");
        assert!(
            took <= at + Duration::from_millis(100),
            "{}: part {part} failed after {at:?}, but upload_all returned its error only after \
             {took:?} of virtual time: it waited for other parts (10 s each) before looking at \
             the one that had failed. A failure should be seen when it happens, whichever part \
             it comes from",
            upload.name
        );
    }
}

#[tokio::test(start_paused = true)]
async fn no_part_keeps_uploading_after_the_error() {
    for upload in failing_uploads() {
        let store = Arc::new(Store::default());

        run_failing(&store, &upload).await;
        let chunks_at_return = store.chunks();
        let stored_at_return = store.stored();

        // Give anything still running all the time it could want.
        sleep(PATIENCE).await;

        let chunks_after = store.chunks() - chunks_at_return;
        let stored_after: Vec<u32> = store
            .stored()
            .into_iter()
            .filter(|part| !stored_at_return.contains(part))
            .collect();
        assert!(
            chunks_after == 0 && stored_after.is_empty(),
            "{}: upload_all returned its error, yet the other parts kept uploading afterwards: \
             the store received {chunks_after} more chunks and stored parts {stored_after:?} \
             after the caller had been told the upload failed. Their tasks were left running, \
             detached",
            upload.name
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_upload_cancels_every_part_task() {
    for upload in failing_uploads() {
        let store = Arc::new(Store::default());

        run_failing(&store, &upload).await;
        // Let the runtime drop the tasks that were aborted. 1 ms is less than any chunk takes, so
        // no upload that is still running can finish meanwhile.
        sleep(Duration::from_millis(1)).await;

        let alive = store.alive();
        assert!(
            alive == 0,
            "{}: upload_all returned its error, but {alive} part uploads were still alive \
             afterwards (their futures had not been dropped): the tasks were left running \
             detached instead of being cancelled",
            upload.name
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_upload_cancels_every_part_task() {
    // The caller gives up after 1 s (a request timeout, a shutdown): it drops upload_all's
    // future while four parts still have seconds of uploading ahead of them.
    let upload = Upload {
        name: "a healthy upload",
        plans: vec![ok(3), ok(4), ok(SLOW), ok(SLOW), ok(SLOW), ok(SLOW)],
    };
    let store = Arc::new(Store::default());

    let gave_up = timeout(
        Duration::from_secs(1),
        upload_all(upload.parts(), uploader(&store, &upload)),
    )
    .await;
    assert!(
        gave_up.is_err(),
        "upload_all finished within 1 s although four parts take 10 s each: {gave_up:?}"
    );
    let chunks_at_drop = store.chunks();

    sleep(Duration::from_millis(1)).await;
    let alive = store.alive();
    assert!(
        alive == 0,
        "the caller dropped upload_all after 1 s, but {alive} part uploads were still alive \
         afterwards: when upload_all is cancelled, the uploads it started must be cancelled \
         with it, not left running detached"
    );
    sleep(PATIENCE).await;
    let chunks_after = store.chunks() - chunks_at_drop;
    assert!(
        chunks_after == 0,
        "the caller dropped upload_all after 1 s, yet the store received {chunks_after} more \
         chunks afterwards: the part uploads kept running with nobody waiting for them"
    );
}
