//! Rejected: gates the unbounded channel with a Semaphore of `max_queued` permits but never closes it: when the writer goes away, a send waiting for a permit waits for ever
//! Fails: a_waiting_send_fails_once_the_writer_is_gone
//! Log ingestion: a reader task pulls lines from a source and queues them for a writer that ships
//! them to storage. Reading is fast, shipping is slow, so the queue between them decides how much
//! memory a burst of logs can take.

use std::fmt;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, Semaphore};

/// The writer has gone away; the line was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterGone;

impl fmt::Display for WriterGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the writer has gone away")
    }
}

impl std::error::Error for WriterGone {}

/// The reader's end of the queue.
#[derive(Debug, Clone)]
pub struct LineSender {
    tx: mpsc::UnboundedSender<String>,
    /// One permit per free place in the queue.
    room: Arc<Semaphore>,
}

/// The writer's end of the queue.
#[derive(Debug)]
pub struct LineReceiver {
    rx: mpsc::UnboundedReceiver<String>,
    room: Arc<Semaphore>,
}

/// Creates the queue between the reader and the writer. At most `max_queued` lines wait in it:
/// once it is full, `send` waits until the writer has taken a line.
///
/// # Panics
/// If `max_queued` is 0.
pub fn queue(max_queued: usize) -> (LineSender, LineReceiver) {
    assert!(max_queued > 0, "max_queued must be at least 1");
    let (tx, rx) = mpsc::unbounded_channel();
    let room = Arc::new(Semaphore::new(max_queued));
    (
        LineSender {
            tx,
            room: Arc::clone(&room),
        },
        LineReceiver { rx, room },
    )
}

impl LineSender {
    /// Queues one line for the writer.
    pub async fn send(&self, line: String) -> Result<(), WriterGone> {
        // Wait for a free place. The permit is not released when this returns: the place stays
        // taken until the writer takes the line and gives it back.
        let place = self.room.acquire().await.map_err(|_| WriterGone)?;
        place.forget();
        self.tx.send(line).map_err(|_| WriterGone)
    }
}

impl LineReceiver {
    /// The next queued line, or `None` once every `LineSender` is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<String> {
        let line = self.rx.recv().await?;
        self.room.add_permits(1);
        Some(line)
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
