//! The queue between a fast reader and a slow writer must push back: once `max_queued` lines
//! wait, `send` is suspended until the writer takes one, and no line is lost or reordered.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bounded_channels::{queue, spawn_reader, LineReceiver, LineSender};
use futures::stream::{self, StreamExt};
use tokio_test::task;

const MAX_QUEUED: usize = 4;

/// Queues `line 0` .. `line {MAX_QUEUED - 1}`, which must all fit without waiting.
fn fill(tx: &LineSender) {
    for i in 0..MAX_QUEUED {
        let Poll::Ready(result) = task::spawn(tx.send(format!("line {i}"))).poll() else {
            panic!(
                "send #{} waited with only {i} lines queued and max_queued {MAX_QUEUED}: the \
                 queue must hold max_queued lines before it pushes back",
                i + 1
            );
        };
        assert!(
            result.is_ok(),
            "send #{} failed although the writer is still there: {result:?}",
            i + 1
        );
    }
}

/// The writer takes the next line; with lines queued (or every sender gone) that never waits.
fn take(rx: &mut LineReceiver) -> Option<String> {
    let Poll::Ready(line) = task::spawn(rx.recv()).poll() else {
        panic!("the writer's recv waited although lines were queued (or every sender was gone)");
    };
    line
}

#[test]
fn send_waits_once_max_queued_lines_are_waiting() {
    const ATTEMPTS: usize = 1000;
    let (tx, _rx) = queue(MAX_QUEUED);

    let mut accepted = 0;
    let mut suspended = None;
    for i in 0..ATTEMPTS {
        let line = format!("line {i}");
        let mut send = task::spawn(tx.send(line.clone()));
        match send.poll() {
            Poll::Ready(result) => {
                assert!(
                    result.is_ok(),
                    "sending {line:?} with max_queued {MAX_QUEUED} failed although the writer is \
                     still there: a full queue must make the producer wait, not refuse the line"
                );
                accepted += 1;
            }
            Poll::Pending => {
                suspended = Some(send);
                break;
            }
        }
    }

    let Some(mut send) = suspended else {
        panic!(
            "the producer sent {ATTEMPTS} lines with max_queued {MAX_QUEUED} while the writer \
             took none, and was never suspended: nothing applies backpressure, so the queue \
             grows without bound"
        );
    };
    assert_eq!(
        accepted, MAX_QUEUED,
        "the producer was suspended after {accepted} lines, but max_queued is {MAX_QUEUED}: \
         exactly {MAX_QUEUED} lines may wait before send waits"
    );
    assert!(
        !send.is_woken(),
        "the suspended send was woken although the writer took nothing and the queue is still \
         full: the producer polls in a loop instead of waiting to be woken"
    );
    assert!(
        send.poll().is_pending(),
        "the send completed although the queue still holds {MAX_QUEUED} lines and the writer \
         took none"
    );
}

#[test]
fn waiting_send_resumes_when_the_writer_takes_a_line() {
    let (tx, mut rx) = queue(MAX_QUEUED);
    fill(&tx);

    let mut fifth = task::spawn(tx.send(format!("line {MAX_QUEUED}")));
    if let Poll::Ready(result) = fifth.poll() {
        panic!(
            "with {MAX_QUEUED} lines queued and max_queued {MAX_QUEUED}, the next send returned \
             at once ({result:?}) instead of waiting: the producer is never suspended, so nothing \
             applies backpressure"
        );
    }

    let mut got = vec![take(&mut rx)];
    assert!(
        fifth.is_woken(),
        "the writer took a line from the full queue but the suspended send was never woken: the \
         producer would wait forever"
    );
    let Poll::Ready(result) = fifth.poll() else {
        panic!("the writer made room for one line but the suspended send is still waiting");
    };
    assert!(result.is_ok(), "the resumed send failed: {result:?}");
    drop(fifth);

    // The queue is full again: the next producer waits too, and resumes on the next take.
    let mut sixth = task::spawn(tx.send(format!("line {}", MAX_QUEUED + 1)));
    if let Poll::Ready(result) = sixth.poll() {
        panic!(
            "the queue was full again with {MAX_QUEUED} lines, yet the next send returned at once \
             ({result:?}) instead of waiting"
        );
    }
    got.push(take(&mut rx));
    assert!(
        sixth.is_woken(),
        "the writer took a line from the full queue but the suspended send was never woken"
    );
    let Poll::Ready(result) = sixth.poll() else {
        panic!("the writer made room for one line but the suspended send is still waiting");
    };
    assert!(result.is_ok(), "the resumed send failed: {result:?}");
    drop(sixth);

    drop(tx);
    loop {
        let line = take(&mut rx);
        let end = line.is_none();
        got.push(line);
        if end || got.len() > 2 * MAX_QUEUED {
            break;
        }
    }
    let expected: Vec<Option<String>> = (0..MAX_QUEUED + 2)
        .map(|i| Some(format!("line {i}")))
        .chain([None])
        .collect();
    assert_eq!(
        got, expected,
        "the writer did not get every line once, in order, and then the end of the queue"
    );
}

#[tokio::test(start_paused = true)]
async fn reader_stays_within_max_queued_of_a_slow_writer() {
    const LINES: usize = 1000;
    const MAX_QUEUED: usize = 8;

    // The source counts how far the reader has pulled ahead of the writer.
    let pulled = Arc::new(AtomicUsize::new(0));
    let taken = Arc::new(AtomicUsize::new(0));
    let peak_ahead = Arc::new(AtomicUsize::new(0));
    let source = {
        let (pulled, taken, peak_ahead) = (pulled.clone(), taken.clone(), peak_ahead.clone());
        stream::iter(0..LINES).map(move |i| {
            let ahead = pulled.fetch_add(1, SeqCst) + 1 - taken.load(SeqCst);
            peak_ahead.fetch_max(ahead, SeqCst);
            format!("line {i}")
        })
    };

    let mut rx = spawn_reader(source, MAX_QUEUED);
    let writer = async {
        while rx.recv().await.is_some() {
            taken.fetch_add(1, SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await; // storage is slow
        }
    };
    tokio::time::timeout(Duration::from_secs(3600), writer)
        .await
        .expect("the writer never saw the end of the queue after the reader finished");

    let peak = peak_ahead.load(SeqCst);
    assert!(
        peak <= MAX_QUEUED + 1,
        "the reader pulled {peak} lines ahead of a slow writer with max_queued {MAX_QUEUED} (at \
         most {} allowed, counting the line in the reader's hands): the reader was never \
         suspended to wait for the writer, so the queue grows without bound",
        MAX_QUEUED + 1
    );
    assert_eq!(
        taken.load(SeqCst),
        LINES,
        "the reader pulled {} lines but the writer got {}: lines were lost in the queue",
        pulled.load(SeqCst),
        taken.load(SeqCst)
    );
}

#[tokio::test(start_paused = true)]
async fn every_line_reaches_the_writer_once_in_order() {
    const LINES: usize = 300;
    let source = stream::iter(0..LINES).map(|i| format!("line {i}"));

    let mut rx = spawn_reader(source, 3);
    let writer = async {
        let mut got = Vec::new();
        while let Some(line) = rx.recv().await {
            got.push(line);
            // An uneven writer: sometimes it keeps up, sometimes the queue fills.
            let pause = [0, 5, 1][got.len() % 3];
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        got
    };
    let got = tokio::time::timeout(Duration::from_secs(3600), writer)
        .await
        .expect("the writer never saw the end of the queue after the reader finished");

    let expected: Vec<String> = (0..LINES).map(|i| format!("line {i}")).collect();
    if let Some(at) = (0..LINES).find(|&i| got.get(i) != Some(&expected[i])) {
        panic!(
            "the writer got {} of {LINES} lines; at position {at} it expected {:?} but got {:?}: \
             lines were lost or reordered on the way through the queue",
            got.len(),
            expected[at],
            got.get(at)
        );
    }
    assert_eq!(
        got.len(),
        LINES,
        "the writer got {} lines for {LINES} read: some were delivered twice",
        got.len()
    );
}
