//! Rejected: counts the queued lines and waits on a Notify when full, but checks only once (`if`, not `while`): every waiting sender goes ahead when one line is taken, and a send after the writer left waits for ever
//! Fails: senders_together_never_exceed_max_queued, a_waiting_send_fails_once_the_writer_is_gone
//! Log ingestion: a reader task pulls lines from a source and queues them for a writer that ships
//! them to storage. Reading is fast, shipping is slow, so the queue between them decides how much
//! memory a burst of logs can take.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, Notify};

/// The writer has gone away; the line was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterGone;

impl fmt::Display for WriterGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the writer has gone away")
    }
}

impl std::error::Error for WriterGone {}

/// How many lines wait in the queue, how many may, and a signal for when one is taken.
#[derive(Debug)]
struct Queued {
    now: AtomicUsize,
    max: usize,
    taken: Notify,
}

/// The reader's end of the queue.
#[derive(Debug, Clone)]
pub struct LineSender {
    tx: mpsc::UnboundedSender<String>,
    queued: Arc<Queued>,
}

/// The writer's end of the queue.
#[derive(Debug)]
pub struct LineReceiver {
    rx: mpsc::UnboundedReceiver<String>,
    queued: Arc<Queued>,
}

/// Creates the queue between the reader and the writer. At most `max_queued` lines wait in it:
/// once it is full, `send` waits until the writer has taken a line.
///
/// # Panics
/// If `max_queued` is 0.
pub fn queue(max_queued: usize) -> (LineSender, LineReceiver) {
    assert!(max_queued > 0, "max_queued must be at least 1");
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = Arc::new(Queued {
        now: AtomicUsize::new(0),
        max: max_queued,
        taken: Notify::new(),
    });
    (
        LineSender {
            tx,
            queued: Arc::clone(&queued),
        },
        LineReceiver { rx, queued },
    )
}

impl LineSender {
    /// Queues one line for the writer.
    pub async fn send(&self, line: String) -> Result<(), WriterGone> {
        // Full: wait until the writer has taken a line.
        if self.queued.now.load(Ordering::SeqCst) >= self.queued.max {
            self.queued.taken.notified().await;
        }
        self.queued.now.fetch_add(1, Ordering::SeqCst);
        self.tx.send(line).map_err(|_| WriterGone)
    }
}

impl LineReceiver {
    /// The next queued line, or `None` once every `LineSender` is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<String> {
        let line = self.rx.recv().await?;
        self.queued.now.fetch_sub(1, Ordering::SeqCst);
        self.queued.taken.notify_waiters();
        Some(line)
    }
}

impl Drop for LineReceiver {
    fn drop(&mut self) {
        // Wake anyone waiting for room: their send then finds the writer gone.
        self.queued.taken.notify_waiters();
    }
}

/// Spawns the reader: it pulls every line from `source` into a queue of at most `max_queued`
/// lines and returns the writer's end. When the writer falls behind, the reader waits for it.
pub fn spawn_reader<S>(source: S, max_queued: usize) -> LineReceiver
where
    S: Stream<Item = String> + Send + 'static,
{
    let (tx, rx) = queue(max_queued);
    tokio::spawn(async move {
        let mut source = std::pin::pin!(source);
        while let Some(line) = source.next().await {
            if tx.send(line).await.is_err() {
                break; // the writer is gone: stop reading
            }
        }
    });
    rx
}
