//! Accepted: the waker lives in a `futures::task::AtomicWaker`, registered on every poll before the result is checked.
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
use std::task::{Context, Poll};

use futures::task::AtomicWaker;

/// What the two halves share.
struct Shared<T> {
    /// The result, once the driver has delivered it.
    value: Mutex<Option<T>>,
    /// The task to wake when the result arrives: the one that polled last.
    waker: AtomicWaker,
}

/// Makes a connected pair: hand the `Completer` to the callback, await the `Completion`.
pub fn completion<T>() -> (Completer<T>, Completion<T>) {
    let shared = Arc::new(Shared {
        value: Mutex::new(None),
        waker: AtomicWaker::new(),
    });
    let completer = Completer {
        shared: Arc::clone(&shared),
    };
    (completer, Completion { shared })
}

/// The sending half, moved into the driver's callback.
pub struct Completer<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Completer<T> {
    /// Delivers the result and wakes the task waiting for it, if any. Called from the driver's
    /// I/O thread.
    pub fn complete(self, value: T) {
        *self.shared.value.lock().unwrap() = Some(value);
        self.shared.waker.wake();
    }
}

/// The receiving half: a future that resolves to the result the driver delivers.
pub struct Completion<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Future for Completion<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        // Register first, then look: a result that arrives in between still finds our waker.
        // `register` replaces the waker of an earlier poll.
        self.shared.waker.register(cx.waker());
        match self.shared.value.lock().unwrap().take() {
            Some(value) => Poll::Ready(value),
            None => Poll::Pending,
        }
    }
}
