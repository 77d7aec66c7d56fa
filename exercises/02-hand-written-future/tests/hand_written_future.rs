//! Most tests poll the `Completion` by hand with tokio-test's task harness: `task::spawn(fut)`
//! wraps the future in a mock task, `poll()` polls it once, and `is_woken()` says whether
//! anything has woken that task's waker since. That is exactly what an executor relies on: after
//! `Pending`, it polls the task again only once its waker is woken.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use hand_written_future::{completion, Completion};
use tokio_test::task::{self, Spawn};
use tokio_test::{assert_pending, assert_ready_eq};

/// Polls `fut` once from inside the mock task `task`, so that `task.is_woken()` later tells
/// whether the waker handed out in *this* poll was woken. This lets one future be polled by two
/// different tasks in turn, as happens when a future is moved from one task to another.
fn poll_in<T>(task: &mut Spawn<()>, fut: &mut Completion<T>) -> Poll<T> {
    task.enter(|cx, _| Pin::new(fut).poll(cx))
}

/// A task's waker that counts how often it was woken. Every clone of a `Waker` made from it
/// holds one reference to it, so `clones_held` tells how many copies are kept somewhere else.
struct CountingWaker {
    wakes: AtomicUsize,
}

impl CountingWaker {
    fn new() -> Arc<Self> {
        Arc::new(CountingWaker {
            wakes: AtomicUsize::new(0),
        })
    }

    fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }

    /// How many clones of this waker are alive, other than the test's own handle.
    fn clones_held(self: &Arc<Self>) -> usize {
        Arc::strong_count(self) - 1
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `fut` once with a waker of `task`, as the task that owns it would.
fn poll_with<T>(task: &Arc<CountingWaker>, fut: &mut Completion<T>) -> Poll<T> {
    let waker = Waker::from(Arc::clone(task));
    Pin::new(fut).poll(&mut Context::from_waker(&waker))
}

#[test]
fn completing_wakes_the_waiting_task() {
    let (completer, completion) = completion();
    let mut handler = task::spawn(completion);

    assert_pending!(
        handler.poll(),
        "the completion was ready before anything was completed"
    );

    completer.complete("ack");

    assert!(
        handler.is_woken(),
        "the completion returned Pending, then the result arrived, but the waiting task was never \
         woken: an executor polls a Pending task again only when its waker is woken, so this \
         request would hang forever. Returning Pending means promising to wake the task when it \
         can make progress"
    );
    assert_ready_eq!(
        handler.poll(),
        "ack",
        "woken after the result arrived, the completion should now be ready with it"
    );
}

#[test]
fn completing_wakes_the_task_that_polled_last() {
    let (completer, mut completion) = completion();
    let mut first_task = task::spawn(());
    let mut second_task = task::spawn(());

    // The handler polls the completion once, then the future moves to another task (handed
    // over through a channel, or polled from a different branch of a `select!`), which polls it
    // again.
    assert_pending!(
        poll_in(&mut first_task, &mut completion),
        "the completion was ready before anything was completed"
    );
    assert_pending!(
        poll_in(&mut second_task, &mut completion),
        "the completion was ready before anything was completed"
    );

    completer.complete("ack");

    if !second_task.is_woken() {
        if first_task.is_woken() {
            panic!(
                "the completion was polled by one task, then by another, and when the result \
                 arrived only the FIRST task was woken: the waker is stored once and never \
                 replaced. The task that owns the future now, the one that polled it last, \
                 sleeps forever. Only the waker from the most recent poll is sure to reach it"
            );
        }
        panic!(
            "the completion was polled by one task, then by another, and when the result arrived \
             neither task was woken: nothing remembers who is waiting, so the request hangs \
             forever"
        );
    }
    assert_eq!(
        poll_in(&mut second_task, &mut completion),
        Poll::Ready("ack"),
        "woken after the result arrived, the completion should now be ready with it"
    );
}

#[test]
fn waiting_does_not_busy_poll() {
    let (completer, completion) = completion();
    let mut handler = task::spawn(completion);

    for poll in 1..=3 {
        assert_pending!(
            handler.poll(),
            "poll #{poll}: the completion was ready before anything was completed"
        );
        assert!(
            !handler.is_woken(),
            "poll #{poll} returned Pending and woke its own task straight away, although the \
             result had not arrived: the executor polls it again at once, and again, and again. \
             That is a busy loop that burns a CPU core for as long as the write takes; wake the \
             task when the result arrives, not before"
        );
    }

    completer.complete("ack");
    assert_ready_eq!(
        handler.poll(),
        "ack",
        "once the result has arrived, the next poll should return it"
    );
}

#[test]
fn a_long_wait_holds_only_the_latest_waker() {
    let (completer, mut completion) = completion();

    // A long wait: one task polls the completion again and again (as a `select!` loop does each
    // time another branch wakes it), then the future moves from task to task.
    let handler = CountingWaker::new();
    for poll in 1..=100 {
        assert!(
            poll_with(&handler, &mut completion).is_pending(),
            "poll #{poll}: the completion was ready before anything was completed"
        );
    }
    let movers: Vec<Arc<CountingWaker>> = (0..100).map(|_| CountingWaker::new()).collect();
    for task in &movers {
        assert!(
            poll_with(task, &mut completion).is_pending(),
            "the completion was ready before anything was completed"
        );
    }

    let held: usize = std::iter::once(&handler)
        .chain(&movers)
        .map(CountingWaker::clones_held)
        .sum();
    assert!(
        held <= 1,
        "after 200 pending polls (100 by one task, then one each by 100 other tasks), the \
         completion holds {held} wakers: it keeps wakers it no longer needs, so its memory grows \
         with every poll of a long wait. Only the waker from the latest poll can reach the task \
         that owns the future now; keep that one, in place of the one before"
    );

    completer.complete("ack");
    let last = movers.last().expect("there are 100 tasks");
    assert!(
        last.wakes() > 0,
        "the result arrived, but the task that polled the completion last was not woken: it owns \
         the future now, and it would sleep forever"
    );
    assert_eq!(
        poll_with(last, &mut completion),
        Poll::Ready("ack"),
        "woken after the result arrived, the completion should now be ready with it"
    );
}

#[test]
fn a_result_delivered_before_the_first_poll_is_ready_at_once() {
    let (completer, completion) = completion();
    completer.complete(7);

    let mut handler = task::spawn(completion);
    assert_ready_eq!(
        handler.poll(),
        7,
        "the result was delivered before the first poll, so the first poll should return it"
    );
}

/// The real thing: a handler task on the runtime awaits the completion, and the driver's I/O
/// thread completes it. The clock is paused, so waiting 60 s for the handler costs no real time.
#[tokio::test(start_paused = true)]
async fn handler_task_resumes_when_the_driver_thread_completes() {
    let (completer, completion) = completion();
    let waiting = Arc::new(AtomicBool::new(false));

    let handler = tokio::spawn({
        let waiting = Arc::clone(&waiting);
        async move {
            waiting.store(true, Ordering::SeqCst);
            completion.await
        }
    });
    // Let the handler run until it waits on the completion: the slow-storage case.
    while !waiting.load(Ordering::SeqCst) {
        tokio::task::yield_now().await;
    }

    std::thread::spawn(move || completer.complete(42))
        .join()
        .expect("the driver thread panicked");

    let result = tokio::time::timeout(Duration::from_secs(60), handler)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the driver completed the write, yet the handler task awaiting the completion \
                 was still asleep 60 s (virtual) later: nobody woke it, so the runtime never \
                 polled it again"
            )
        });
    assert_eq!(
        result.expect("the handler task panicked"),
        42,
        "the handler resumed with the wrong result"
    );
}
