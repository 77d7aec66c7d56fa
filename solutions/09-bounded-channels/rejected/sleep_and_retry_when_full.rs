//! Rejected: on a full queue, sleeps a moment and tries again: the send is woken by its timer, not by the writer making room
//! Fails: send_waits_once_max_queued_lines_are_waiting, waiting_send_resumes_when_the_writer_takes_a_line, senders_together_never_exceed_max_queued, a_waiting_send_fails_once_the_writer_is_gone
//! Log ingestion: a reader task pulls lines from a source and queues them for a writer that ships
//! them to storage. Reading is fast, shipping is slow, so the queue between them decides how much
//! memory a burst of logs can take.

use std::fmt;
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

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
    tx: mpsc::Sender<String>,
}

/// The writer's end of the queue.
#[derive(Debug)]
pub struct LineReceiver {
    rx: mpsc::Receiver<String>,
}

/// Creates the queue between the reader and the writer. At most `max_queued` lines wait in it:
/// once it is full, `send` waits until the writer has taken a line.
///
/// # Panics
/// If `max_queued` is 0.
pub fn queue(max_queued: usize) -> (LineSender, LineReceiver) {
    assert!(max_queued > 0, "max_queued must be at least 1");
    let (tx, rx) = mpsc::channel(max_queued);
    (LineSender { tx }, LineReceiver { rx })
}

impl LineSender {
    /// Queues one line for the writer.
    pub async fn send(&self, mut line: String) -> Result<(), WriterGone> {
        loop {
            match self.tx.try_send(line) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(_)) => return Err(WriterGone),
                // Full: give the writer a moment, then try again.
                Err(TrySendError::Full(back)) => {
                    line = back;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
}

impl LineReceiver {
    /// The next queued line, or `None` once every `LineSender` is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<String> {
        self.rx.recv().await
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
