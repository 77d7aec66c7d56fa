//! Rejected: remembers the waker of every task that ever polled it, so memory grows with a long wait and stale tasks are woken for nothing.
//! Fails: a_long_wait_holds_only_the_latest_waker
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
    /// Every task that waited for the result: all of them are woken when it arrives.
    wakers: Vec<Waker>,
}

/// Makes a connected pair: hand the `Completer` to the callback, await the `Completion`.
pub fn completion<T>() -> (Completer<T>, Completion<T>) {
    let shared = Arc::new(Mutex::new(Shared {
        value: None,
        wakers: Vec::new(),
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
        let wakers = {
            let mut shared = self.shared.lock().unwrap();
            shared.value = Some(value);
            std::mem::take(&mut shared.wakers)
        };
        // Wake outside the lock: the woken task may be polled at once, on another thread.
        for waker in wakers {
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
                // Not acknowledged yet. Remember this task too, unless we already do: the
                // future may have moved, and whoever owns it now must hear about the result.
                if !shared.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    shared.wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}
