//! Rejected: keeps the waker of the first poll only, so once the future has moved to another task, the wrong task is woken.
//! Fails: completing_wakes_the_task_that_polled_last, a_long_wait_holds_only_the_latest_waker
//! Bridging a callback-based driver into async code with a hand-written future.
//!
//! Our storage driver reports each finished write through a callback, which it calls from its
//! own I/O thread. `completion()` makes a pair: the `Completer` goes into the callback, and the
//! `Completion` is a future the request handler awaits.
//!
//! Bug report from on-call: "Fast acks are fine. But when the storage is slow, the request hangs
//! forever. The driver log shows the ack, and the callback did run, yet the handler never
//! resumes."

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// What the two halves share.
struct Shared<T> {
    /// The result, once the driver has delivered it.
    value: Option<T>,
    /// The task to wake when the result arrives.
    waker: Option<Waker>,
}

/// Makes a connected pair: hand the `Completer` to the callback, await the `Completion`.
pub fn completion<T>() -> (Completer<T>, Completion<T>) {
    let shared = Arc::new(Mutex::new(Shared {
        value: None,
        waker: None,
    }));
    let completer = Completer {
        shared: Arc::clone(&shared),
    };
    (completer, Completion { shared })
}

/// The sending half, moved into the driver's callback.
pub struct Completer<T> {
    shared: Arc<Mutex<Shared<T>>>,
}

impl<T> Completer<T> {
    /// Delivers the result and wakes the task waiting for it, if any. Called from the driver's
    /// I/O thread.
    pub fn complete(self, value: T) {
        let waker = {
            let mut shared = self.shared.lock().unwrap();
            shared.value = Some(value);
            shared.waker.take()
        };
        // Wake outside the lock: the woken task may be polled at once, on another thread.
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The receiving half: a future that resolves to the result the driver delivers.
pub struct Completion<T> {
    shared: Arc<Mutex<Shared<T>>>,
}

impl<T> Future for Completion<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut shared = self.shared.lock().unwrap();
        match shared.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                // Not acknowledged yet. Leave a waker for `complete`; one is enough.
                shared.waker.get_or_insert_with(|| cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
