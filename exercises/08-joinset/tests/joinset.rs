//! Every test runs on a paused clock (`start_paused = true`): virtual time only moves when every
//! task is idle, and then jumps straight to the next timer. A fake object store stands in for the
//! network: each part goes up in 100 ms chunks, and the store counts every chunk it receives,
//! every part it stores, and every part upload that is still alive (a drop guard inside each
//! upload future, so an aborted upload counts as gone too).

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
/// How many parts each upload has.
const PARTS: u32 = 6;

/// What the fake store does with one part: receive `chunks` chunks, then store it or fail.
#[derive(Clone, Copy)]
struct Plan {
    chunks: u32,
    fails: bool,
}

/// A healthy upload: two quick parts and four slow ones (100 chunks, 10 s each).
fn healthy(part: u32) -> Plan {
    let chunks = match part {
        1 => 3,
        2 => 4,
        _ => 100,
    };
    Plan {
        chunks,
        fails: false,
    }
}

/// The same upload, except that part 2 fails after 450 ms (4 chunks, then the connection drops),
/// while parts 3 to 6 still have almost 10 s of uploading ahead of them.
fn part_2_fails(part: u32) -> Plan {
    Plan {
        fails: part == 2,
        ..healthy(part)
    }
}

/// When part 2 fails in `part_2_fails`.
const FAILS_AT: Duration = Duration::from_millis(450);

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

type Upload = Pin<Box<dyn Future<Output = Result<(), UploadError>> + Send>>;

/// The upload function handed to `upload_all`: uploads a part to the fake store.
fn uploader(store: &Arc<Store>, plan: fn(u32) -> Plan) -> impl Fn(Part) -> Upload {
    let store = Arc::clone(store);
    move |part: Part| {
        let store = Arc::clone(&store);
        Box::pin(async move {
            let _alive = Alive::new(&store);
            let Plan { chunks, fails } = plan(part.number);
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

fn parts() -> Vec<Part> {
    (1..=PARTS)
        .map(|number| Part {
            number,
            data: vec![0; 1024],
        })
        .collect()
}

/// Runs the upload in which part 2 fails, checks that it reports part 2's error, and returns how
/// long `upload_all` took.
async fn failing_upload(store: &Arc<Store>) -> Duration {
    let start = Instant::now();
    let result = timeout(PATIENCE, upload_all(parts(), uploader(store, part_2_fails)))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "upload_all did not return within 60 s of virtual time, although part 2 failed \
                 after {FAILS_AT:?} and every other part was done within 10 s: it is stuck"
            )
        });
    let took = start.elapsed();
    match &result {
        Err(error) if error.part == 2 => {}
        other => panic!(
            "part 2 failed to upload, so upload_all must return part 2's error, but it \
             returned {other:?}"
        ),
    }
    took
}

#[tokio::test(start_paused = true)]
async fn a_healthy_upload_uploads_every_part() {
    let store = Arc::new(Store::default());

    let result = timeout(PATIENCE, upload_all(parts(), uploader(&store, healthy)))
        .await
        .expect("upload_all did not return within 60 s of virtual time: it is stuck");

    assert_eq!(
        result,
        Ok(PARTS as usize),
        "every part uploaded fine, so upload_all should report all {PARTS} of them"
    );
    assert_eq!(
        store.stored(),
        (1..=PARTS).collect::<Vec<_>>(),
        "upload_all returned Ok, but not every part was stored"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_part_is_reported_promptly() {
    let store = Arc::new(Store::default());

    let took = failing_upload(&store).await;

    assert!(
        took < FAILS_AT + Duration::from_millis(500),
        "part 2 failed after {FAILS_AT:?}, but upload_all returned its error only after {took:?} \
         of virtual time: it waited for the other parts (10 s each) to finish before reporting \
         a failure it could have reported at once"
    );
}

#[tokio::test(start_paused = true)]
async fn no_part_keeps_uploading_after_the_error() {
    let store = Arc::new(Store::default());

    failing_upload(&store).await;
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
        "upload_all returned part 2's error, yet the other parts kept uploading afterwards: the \
         store received {chunks_after} more chunks and stored parts {stored_after:?} after the \
         caller had been told the upload failed. Their tasks were left running, detached"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_upload_cancels_every_part_task() {
    let store = Arc::new(Store::default());

    failing_upload(&store).await;
    // Let the runtime drop the tasks that were aborted. 1 ms is less than any chunk takes, so no
    // upload that is still running can finish meanwhile.
    sleep(Duration::from_millis(1)).await;

    let alive = store.alive();
    assert_eq!(
        alive, 0,
        "upload_all returned part 2's error, but {alive} part uploads were still alive afterwards \
         (their futures had not been dropped): the tasks were left running detached instead of \
         being cancelled"
    );
}
