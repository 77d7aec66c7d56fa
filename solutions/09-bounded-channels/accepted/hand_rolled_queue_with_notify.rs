//! Accepted: a queue of its own (a VecDeque behind a Mutex) where a full queue makes `send` wait on a Notify that the writer's `recv` signals
//! Log ingestion: a reader task pulls lines from a source and queues them for a writer that ships
//! them to storage. Reading is fast, shipping is slow, so the queue between them decides how much
//! memory a burst of logs can take.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};

use futures::{Stream, StreamExt};
use tokio::sync::Notify;

/// The writer has gone away; the line was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterGone;

impl fmt::Display for WriterGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the writer has gone away")
    }
}

impl std::error::Error for WriterGone {}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Signalled when the writer takes a line (one waiting sender may go on) or goes away.
    room: Notify,
    /// Signalled when a line is queued or the last sender goes away.
    lines: Notify,
    max_queued: usize,
}

#[derive(Debug)]
struct State {
    queue: VecDeque<String>,
    senders: usize,
    writer_gone: bool,
}

/// The reader's end of the queue.
#[derive(Debug)]
pub struct LineSender {
    shared: Arc<Shared>,
}

/// The writer's end of the queue.
#[derive(Debug)]
pub struct LineReceiver {
    shared: Arc<Shared>,
}

/// Creates the queue between the reader and the writer. At most `max_queued` lines wait in it:
/// once it is full, `send` waits until the writer has taken a line.
///
/// # Panics
/// If `max_queued` is 0.
pub fn queue(max_queued: usize) -> (LineSender, LineReceiver) {
    assert!(max_queued > 0, "max_queued must be at least 1");
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::with_capacity(max_queued),
            senders: 1,
            writer_gone: false,
        }),
        room: Notify::new(),
        lines: Notify::new(),
        max_queued,
    });
    (
        LineSender {
            shared: Arc::clone(&shared),
        },
        LineReceiver { shared },
    )
}

impl LineSender {
    /// Queues one line for the writer.
    pub async fn send(&self, line: String) -> Result<(), WriterGone> {
        loop {
            // Register for a wake-up before looking, so a line taken in between is not missed.
            let room = self.shared.room.notified();
            let mut room = std::pin::pin!(room);
            room.as_mut().enable();
            {
                let mut state = self.shared.state.lock().unwrap();
                if state.writer_gone {
                    return Err(WriterGone);
                }
                if state.queue.len() < self.shared.max_queued {
                    state.queue.push_back(line);
                    drop(state);
                    self.shared.lines.notify_one();
                    return Ok(());
                }
            }
            // Full: sleep until the writer makes room, then look again.
            room.await;
        }
    }
}

impl Clone for LineSender {
    fn clone(&self) -> Self {
        self.shared.state.lock().unwrap().senders += 1;
        LineSender {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for LineSender {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock().unwrap();
        state.senders -= 1;
        let last = state.senders == 0;
        drop(state);
        if last {
            self.shared.lines.notify_one();
        }
    }
}

impl LineReceiver {
    /// The next queued line, or `None` once every `LineSender` is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<String> {
        loop {
            {
                let mut state = self.shared.state.lock().unwrap();
                if let Some(line) = state.queue.pop_front() {
                    drop(state);
                    self.shared.room.notify_one();
                    return Some(line);
                }
                if state.senders == 0 {
                    return None;
                }
            }
            // `notify_one` keeps a permit when nobody waits, so a line queued since the check
            // above still wakes this.
            self.shared.lines.notified().await;
        }
    }
}

impl Drop for LineReceiver {
    fn drop(&mut self) {
        self.shared.state.lock().unwrap().writer_gone = true;
        self.shared.room.notify_waiters();
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
