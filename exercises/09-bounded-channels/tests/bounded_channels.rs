//! The queue between a fast reader and a slow writer must push back: once `max_queued` lines
//! wait, in all, whoever sent them, a `send` is suspended until the writer takes one; it is woken by
//! that take and by nothing else, it waits as long as the writer needs, and it gives up only when
//! the writer is gone. No line is lost, repeated or reordered on the way.
//!
//! Some tests poll sends by hand with tokio-test's task harness, to see exactly when a send waits
//! and when it is woken; the others run the reader and a slow writer on a paused clock.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bounded_channels::{queue, spawn_reader, LineReceiver, LineSender, WriterGone};
use futures::stream::{self, StreamExt};
use tokio_test::task;

/// Queues `max_queued` lines through `tx`, which must all fit without waiting.
fn fill(tx: &LineSender, max_queued: usize) {
    for i in 0..max_queued {
        let Poll::Ready(result) = task::spawn(tx.send(format!("line {i}"))).poll() else {
            panic!(
                "send #{} waited with only {i} lines queued and max_queued {max_queued}: the \
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

/// Lets an hour of (paused) time pass: a send that re-checks the queue on a timer is woken by it.
async fn an_hour_passes() {
    tokio::time::advance(Duration::from_secs(3600)).await;
}

#[tokio::test(start_paused = true)]
async fn send_waits_once_max_queued_lines_are_waiting() {
    const ATTEMPTS: usize = 2000;
    for max_queued in [1, 2, 4, 7, 100] {
        let (tx, _rx) = queue(max_queued);

        let mut accepted = 0;
        let mut suspended = None;
        for i in 0..ATTEMPTS {
            let line = format!("line {i}");
            let mut send = task::spawn(tx.send(line.clone()));
            match send.poll() {
                Poll::Ready(result) => {
                    assert!(
                        result.is_ok(),
                        "sending {line:?} with max_queued {max_queued} failed although the \
                         writer is still there: a full queue must make the producer wait, not \
                         refuse the line"
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
                "the producer sent {ATTEMPTS} lines with max_queued {max_queued} while the \
                 writer took none, and was never suspended: nothing applies backpressure, so \
                 the queue grows without bound"
            );
        };
        assert!(
            accepted == max_queued,
            "the producer was suspended after {accepted} lines, but max_queued is {max_queued}: \
             exactly {max_queued} lines may wait before send waits"
        );
        an_hour_passes().await;
        assert!(
            !send.is_woken(),
            "with max_queued {max_queued}, the suspended send was woken although the writer \
             took nothing and the queue is still full: the producer re-checks the queue (in a \
             loop or on a timer) instead of waiting to be woken when there is room"
        );
        assert!(
            send.poll().is_pending(),
            "the send completed although the queue still holds {max_queued} lines and the \
             writer took none"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn waiting_send_resumes_when_the_writer_takes_a_line() {
    for max_queued in [1, 4] {
        let (tx, mut rx) = queue(max_queued);
        fill(&tx, max_queued);

        let mut got = Vec::new();
        // Twice: the queue fills up again after each resumed send.
        for n in max_queued..max_queued + 2 {
            let mut waiting = task::spawn(tx.send(format!("line {n}")));
            if let Poll::Ready(result) = waiting.poll() {
                panic!(
                    "with the queue full (max_queued {max_queued}), the next send returned at \
                     once ({result:?}) instead of waiting: the producer is never suspended, so \
                     nothing applies backpressure"
                );
            }
            got.push(take(&mut rx));
            assert!(
                waiting.is_woken(),
                "the writer took a line from the full queue (max_queued {max_queued}) but the \
                 suspended send was not woken by it: the producer waits for something else (a \
                 timer, another poll) instead of the room the writer just made"
            );
            let Poll::Ready(result) = waiting.poll() else {
                panic!("the writer made room for one line but the suspended send is still waiting");
            };
            assert!(result.is_ok(), "the resumed send failed: {result:?}");
        }

        drop(tx);
        loop {
            let line = take(&mut rx);
            let end = line.is_none();
            got.push(line);
            if end || got.len() > 2 * max_queued + 4 {
                break;
            }
        }
        let expected: Vec<Option<String>> = (0..max_queued + 2)
            .map(|i| Some(format!("line {i}")))
            .chain([None])
            .collect();
        assert!(
            got == expected,
            "with max_queued {max_queued}, the writer did not get every line once, in order, and \
             then the end of the queue: it got {got:?}, expected {expected:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn senders_together_never_exceed_max_queued() {
    const MAX_QUEUED: usize = 5;
    const SENDERS: usize = 3;
    let (tx, mut rx) = queue(MAX_QUEUED);
    let senders: Vec<LineSender> = (0..SENDERS).map(|_| tx.clone()).collect();
    drop(tx);

    // The producers take turns until each has one send suspended on the full queue.
    let mut accepted = 0;
    let mut waiting = Vec::new();
    for round in 0..1000 {
        for (s, sender) in senders.iter().enumerate() {
            if waiting.iter().any(|(w, _)| *w == s) {
                continue;
            }
            let mut send = task::spawn(sender.send(format!("sender {s} line {round}")));
            match send.poll() {
                Poll::Ready(result) => {
                    assert!(result.is_ok(), "a send failed: {result:?}");
                    accepted += 1;
                }
                Poll::Pending => waiting.push((s, send)),
            }
        }
        if waiting.len() == SENDERS {
            break;
        }
    }
    assert!(
        waiting.len() == SENDERS,
        "{SENDERS} producers sharing one queue with max_queued {MAX_QUEUED} sent {accepted} lines \
         while the writer took none, and {} of them were never suspended: nothing applies \
         backpressure",
        SENDERS - waiting.len()
    );
    assert!(
        accepted == MAX_QUEUED,
        "{SENDERS} producers sharing one queue with max_queued {MAX_QUEUED} got {accepted} lines \
         queued before all of them were suspended: the limit must hold for all the senders \
         together, not for each one on its own"
    );

    // Each line the writer takes makes room for exactly one of the waiting sends.
    for taken in 1..=SENDERS {
        assert!(take(&mut rx).is_some(), "the writer found the queue empty");
        let mut resumed = 0;
        waiting.retain_mut(|(_, send)| match send.poll() {
            Poll::Ready(result) => {
                assert!(result.is_ok(), "a resumed send failed: {result:?}");
                resumed += 1;
                false
            }
            Poll::Pending => true,
        });
        assert!(
            resumed == 1,
            "the writer took one line from the full queue (max_queued {MAX_QUEUED}) and \
             {resumed} of the waiting sends completed (after {taken} line(s) taken): room for \
             one line must let exactly one waiting producer in, or the queue holds more than \
             max_queued"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_waiting_send_fails_once_the_writer_is_gone() {
    const MAX_QUEUED: usize = 3;
    let (tx, rx) = queue(MAX_QUEUED);
    fill(&tx, MAX_QUEUED);

    let mut waiting = task::spawn(tx.send("one too many".to_string()));
    if let Poll::Ready(result) = waiting.poll() {
        panic!(
            "with the queue full (max_queued {MAX_QUEUED}), the next send returned at once \
             ({result:?}) instead of waiting: nothing applies backpressure"
        );
    }

    drop(rx);
    assert!(
        waiting.is_woken(),
        "the writer went away while a send was waiting for room, and the send was not woken: \
         the producer would wait for ever for room that nobody will ever make"
    );
    let woken = waiting.poll();
    assert!(
        woken == Poll::Ready(Err(WriterGone)),
        "the writer went away while a send was waiting: the send must fail with WriterGone, but \
         it gave {woken:?}"
    );
    let later = task::spawn(tx.send("later".to_string())).poll();
    assert!(
        later == Poll::Ready(Err(WriterGone)),
        "a send after the writer went away must fail at once with WriterGone, but it gave \
         {later:?}"
    );
}

/// Runs `spawn_reader` over `lines` lines for a writer that pauses `pause(n)` after its n-th
/// line; returns the lines the writer got and the furthest the reader got ahead of it.
async fn pipeline(
    lines: usize,
    max_queued: usize,
    pause: impl Fn(usize) -> Duration,
) -> (Vec<String>, usize) {
    // The source counts how far the reader has pulled ahead of the writer.
    let pulled = Arc::new(AtomicUsize::new(0));
    let taken = Arc::new(AtomicUsize::new(0));
    let peak_ahead = Arc::new(AtomicUsize::new(0));
    let source = {
        let (pulled, taken, peak_ahead) = (pulled.clone(), taken.clone(), peak_ahead.clone());
        stream::iter(0..lines).map(move |i| {
            let ahead = pulled.fetch_add(1, SeqCst) + 1 - taken.load(SeqCst);
            peak_ahead.fetch_max(ahead, SeqCst);
            format!("line {i}")
        })
    };

    let mut rx = spawn_reader(source, max_queued);
    let writer = async {
        let mut got = Vec::new();
        while let Some(line) = rx.recv().await {
            got.push(line);
            taken.fetch_add(1, SeqCst);
            tokio::time::sleep(pause(got.len())).await; // storage is slow
        }
        got
    };
    let got = tokio::time::timeout(Duration::from_secs(100_000), writer)
        .await
        .expect("the writer never saw the end of the queue after the reader finished");
    (got, peak_ahead.load(SeqCst))
}

fn check_every_line(got: &[String], lines: usize, how: &str) {
    if let Some(at) = (0..lines).find(|&i| got.get(i) != Some(&format!("line {i}"))) {
        panic!(
            "{how}, the writer got {} of {lines} lines; at position {at} it expected \"line \
             {at}\" but got {:?}: lines were lost or reordered on the way through the queue",
            got.len(),
            got.get(at)
        );
    }
    assert!(
        got.len() == lines,
        "{how}, the writer got {} lines for {lines} read: some were delivered twice",
        got.len()
    );
}

#[tokio::test(start_paused = true)]
async fn reader_stays_within_max_queued_of_a_slow_writer() {
    for (max_queued, writer_ms) in [(8, 10), (1, 3), (50, 7)] {
        let (got, peak) = pipeline(1000, max_queued, |_| Duration::from_millis(writer_ms)).await;
        assert!(
            peak <= max_queued + 1,
            "the reader pulled {peak} lines ahead of a writer that takes {writer_ms} ms per line, \
             with max_queued {max_queued} (at most {} allowed, counting the line in the reader's \
             hands): the reader was never suspended to wait for the writer, so the queue grows \
             without bound",
            max_queued + 1
        );
        check_every_line(&got, 1000, &format!("with max_queued {max_queued}"));
    }
}

#[tokio::test(start_paused = true)]
async fn a_stalled_writer_holds_the_reader_back_and_loses_nothing() {
    // Storage stops answering for ten minutes after the 20th line, then carries on.
    for max_queued in [1, 6] {
        let stall = |n: usize| {
            Duration::from_millis(match n {
                20 => 600_000,
                _ => 2,
            })
        };
        let (got, peak) = pipeline(200, max_queued, stall).await;
        assert!(
            peak <= max_queued + 1,
            "with a writer that stalls for ten minutes after its 20th line, the reader pulled \
             {peak} lines ahead of it with max_queued {max_queued} (at most {} allowed): a full \
             queue must hold the reader back for as long as the writer needs",
            max_queued + 1
        );
        check_every_line(
            &got,
            200,
            &format!("after a ten-minute stall of the writer (max_queued {max_queued})"),
        );
    }
}

#[tokio::test(start_paused = true)]
async fn every_line_reaches_the_writer_once_in_order() {
    for max_queued in [1, 3, 16] {
        // An uneven writer: sometimes it keeps up, sometimes the queue fills.
        let (got, _) = pipeline(300, max_queued, |n| Duration::from_millis([0, 5, 1][n % 3])).await;
        check_every_line(&got, 300, &format!("with max_queued {max_queued}"));
    }
}
