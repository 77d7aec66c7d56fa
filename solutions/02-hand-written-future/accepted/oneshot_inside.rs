//! Accepted: no hand-kept waker at all: the pair wraps a `tokio::sync::oneshot` channel, whose receiver already keeps the wake-up contract.
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
use std::task::{Context, Poll};

use tokio::sync::oneshot;

/// Makes a connected pair: hand the `Completer` to the callback, await the `Completion`.
pub fn completion<T>() -> (Completer<T>, Completion<T>) {
    let (sender, receiver) = oneshot::channel();
    (Completer { sender }, Completion { receiver })
}

/// The sending half, moved into the driver's callback.
pub struct Completer<T> {
    sender: oneshot::Sender<T>,
}

impl<T> Completer<T> {
    /// Delivers the result and wakes the task waiting for it, if any. Called from the driver's
    /// I/O thread.
    pub fn complete(self, value: T) {
        // An error only means nobody waits for the result any more.
        let _ = self.sender.send(value);
    }
}

/// The receiving half: a future that resolves to the result the driver delivers.
pub struct Completion<T> {
    receiver: oneshot::Receiver<T>,
}

impl<T> Future for Completion<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        // The receiver stores the waker of this poll (replacing the last one) when it returns
        // Pending, and the sender wakes it.
        Pin::new(&mut self.receiver)
            .poll(cx)
            .map(|result| result.expect("the driver dropped its completer without completing"))
    }
}
