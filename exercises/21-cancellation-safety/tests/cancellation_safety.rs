//! Every test runs on a paused clock (`start_paused = true`): virtual time only moves when every
//! task is idle, and then jumps straight to the next timer. A fake exchange, in its own task,
//! writes its frames into one end of a `tokio::io::duplex` pipe, in pieces, with pauses between
//! them, exactly as scripted; the session reads from the other end. Heartbeats go to a recorder
//! that notes the virtual time of each one.
//!
//! The property under test: dropping a half-done frame read (which is what `select!` does to the
//! branch that loses) loses no bytes. Whatever the cut points and the pauses, every frame comes
//! out intact and in order while heartbeats keep going out every second, and a session that is
//! itself dropped leaves nothing behind.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use cancellation_safety::{run_session, HEARTBEAT, MAX_FRAME};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout, Instant};

/// Far longer than any script below runs.
const PATIENCE: Duration = Duration::from_secs(300);

/// One step of what the fake exchange does.
enum Step {
    /// Write these bytes.
    Data(Vec<u8>),
    /// Wait this long (virtual time).
    Pause(Duration),
}

use Step::{Data, Pause};

/// A frame on the wire: its 4-byte big-endian length, then the payload.
fn frame(payload: &str) -> Vec<u8> {
    let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(payload.as_bytes());
    bytes
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// Starts a fake exchange that plays `script` and then closes the connection. Returns the
/// session's end of the connection.
fn exchange(script: Vec<Step>) -> DuplexStream {
    let (session_end, mut exchange_end) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        for step in script {
            match step {
                Data(bytes) => {
                    if exchange_end.write_all(&bytes).await.is_err() {
                        // The session hung up early; the test will say why.
                        return;
                    }
                }
                Pause(duration) => sleep(duration).await,
            }
        }
        // Dropping our end closes the connection: the session reads end-of-file.
    });
    session_end
}

/// Records the virtual time of every heartbeat written to it.
#[derive(Clone)]
struct Heartbeats {
    start: Instant,
    written: Arc<Mutex<Vec<u8>>>,
    /// When each complete 4-byte heartbeat was written, since the start of the test.
    at: Arc<Mutex<Vec<Duration>>>,
}

impl Heartbeats {
    fn new(start: Instant) -> Heartbeats {
        Heartbeats {
            start,
            written: Arc::default(),
            at: Arc::default(),
        }
    }

    fn times(&self) -> Vec<Duration> {
        self.at.lock().unwrap().clone()
    }

    /// Checks that only heartbeats were written, and that they went out at least every
    /// `max_gap` from the start of the session until `until`.
    fn assert_steady(&self, until: Duration, max_gap: Duration, during: &str) {
        let written = self.written.lock().unwrap().clone();
        assert!(
            written
                .chunks(HEARTBEAT.len())
                .all(|chunk| chunk == HEARTBEAT),
            "the session wrote something other than heartbeats ({HEARTBEAT:?}) to the exchange: \
             {written:?}"
        );
        let times = self.times();
        let mut last = Duration::ZERO;
        for &at in times.iter().chain(std::iter::once(&until)) {
            assert!(
                at - last <= max_gap,
                "no heartbeat between {last:?} and {at:?} {during}: the exchange drops a client \
                 that is silent for 3 s, and heartbeats should go out every second (sent at \
                 {times:?})"
            );
            last = at;
        }
    }
}

impl AsyncWrite for Heartbeats {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let now = self.start.elapsed();
        let mut written = self.written.lock().unwrap();
        let mut at = self.at.lock().unwrap();
        for &byte in buf {
            written.push(byte);
            if written.len().is_multiple_of(HEARTBEAT.len()) {
                at.push(now);
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// What a session did.
struct Outcome {
    result: io::Result<()>,
    /// The frames it passed on, as text.
    frames: Vec<String>,
    /// When it returned, since the start of the test.
    ended_at: Duration,
    heartbeats: Heartbeats,
}

/// Runs a session against a fake exchange playing `script`.
async fn session(script: Vec<Step>) -> Outcome {
    let start = Instant::now();
    let heartbeats = Heartbeats::new(start);
    let (tx, mut rx) = mpsc::channel(1_000);
    let result = timeout(
        PATIENCE,
        run_session(exchange(script), heartbeats.clone(), tx),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "run_session was still running {PATIENCE:?} (virtual) after it started, although \
             the exchange closed the connection long before: it should return when the \
             connection closes"
        )
    });
    let mut frames = Vec::new();
    while let Ok(frame) = rx.try_recv() {
        frames.push(String::from_utf8_lossy(&frame).into_owned());
    }
    Outcome {
        result,
        frames,
        ended_at: start.elapsed(),
        heartbeats,
    }
}

/// Asserts that the session passed on exactly `expected` and ended cleanly.
fn assert_delivered(outcome: &Outcome, expected: &[&str], scenario: &str) {
    let ok = outcome.result.is_ok() && outcome.frames == expected;
    if ok {
        return;
    }
    let ending = match &outcome.result {
        Ok(()) => "returned Ok(()) as if the connection had closed cleanly".to_string(),
        Err(err) => format!("failed with \"{err}\""),
    };
    let delivered = &outcome.frames;
    let what = if expected.len() <= 4 {
        format!(
            "{} frame(s) {expected:?}, but the session passed on {delivered:?}",
            expected.len()
        )
    } else {
        let wrong = (0..expected.len())
            .find(|&i| delivered.get(i).map(String::as_str) != Some(expected[i]))
            .unwrap_or(expected.len());
        format!(
            "{} frames, but the session passed on {} and frame #{} was {:?} instead of {:?}",
            expected.len(),
            delivered.len(),
            wrong + 1,
            delivered.get(wrong),
            expected.get(wrong),
        )
    };
    panic!(
        "{scenario}, the exchange sent {what}, and it {ending}. A frame read that the heartbeat \
         interrupted took the bytes it had already read down with it: the frame is lost, or the \
         next read starts in the middle of it and takes payload bytes for a length prefix"
    );
}

#[tokio::test(start_paused = true)]
async fn frames_split_across_heartbeats_arrive_intact() {
    let first = frame("EURUSD 1.0842 1.0843");
    let second = frame("GBPUSD 1.2655 1.2657");
    let third = frame("USDJPY 151.20 151.22");
    // Each frame is cut in the middle of its payload, and the rest comes 1.5 s later: a
    // heartbeat is due in between.
    let script = vec![
        Data(first[..12].to_vec()),
        Pause(millis(1_500)),
        Data([&first[12..], &second[..9]].concat()),
        Pause(millis(1_500)),
        Data([&second[9..], &third[..]].concat()),
    ];

    let outcome = session(script).await;

    assert_delivered(
        &outcome,
        &[
            "EURUSD 1.0842 1.0843",
            "GBPUSD 1.2655 1.2657",
            "USDJPY 151.20 151.22",
        ],
        "With frames cut in two, 1.5 s apart",
    );
}

#[tokio::test(start_paused = true)]
async fn a_frame_that_trickles_in_for_a_minute_arrives_intact() {
    let payload = "ORDERBOOK EURUSD bid 1.08420 x 5M / ask 1.0843 x 3M (L1)";
    let bytes = frame(payload);
    assert_eq!(bytes.len(), 60);
    // 3 bytes every 3 s, the length prefix included: the whole frame takes 57 s to arrive.
    // A heartbeat period of anything under a minute falls in the middle of it.
    let mut script = vec![Pause(millis(500))];
    for (i, piece) in bytes.chunks(3).enumerate() {
        if i > 0 {
            script.push(Pause(millis(3_000)));
        }
        script.push(Data(piece.to_vec()));
    }

    let outcome = session(script).await;

    assert_delivered(
        &outcome,
        &[payload],
        "With one frame trickling in, 3 bytes every 3 s",
    );
    outcome.heartbeats.assert_steady(
        outcome.ended_at,
        Duration::from_secs(2),
        "while the frame was trickling in",
    );
}

#[tokio::test(start_paused = true)]
async fn heartbeats_go_out_every_second_on_a_quiet_line() {
    // Nothing for 10 s, then the exchange closes the connection.
    let outcome = session(vec![Pause(Duration::from_secs(10))]).await;

    if let Err(err) = &outcome.result {
        panic!("the session failed on a quiet line that closed cleanly: {err}");
    }
    let times = outcome.heartbeats.times();
    assert!(
        times.len() >= 10,
        "in 10 s of quiet the session sent {} heartbeat(s), at {times:?}: it should send one \
         every second",
        times.len()
    );
    outcome.heartbeats.assert_steady(
        Duration::from_secs(10),
        Duration::from_secs(2),
        "on a quiet line",
    );
}

#[tokio::test(start_paused = true)]
async fn whole_frames_arrive_in_order() {
    let quotes = [
        "EURUSD 1.0842 1.0843",
        "GBPUSD 1.2655 1.2657",
        "USDJPY 151.20 151.22",
        "EURUSD 1.0841 1.0842",
    ];
    // The largest payload the exchange sends: 64 KiB, a full order book.
    let book: String = (0..64 * 1024)
        .map(|i| char::from(b'A' + (i % 26) as u8))
        .collect();
    let script = vec![
        Data([frame(quotes[0]), frame(quotes[1])].concat()),
        Pause(millis(2_500)),
        Data([frame(quotes[2]), frame(quotes[3])].concat()),
        Pause(millis(500)),
        Data(frame(&book)),
    ];

    let outcome = session(script).await;

    let shown: Vec<String> = outcome
        .frames
        .iter()
        .map(|f| match f.len() {
            0..=40 => format!("{f:?}"),
            n => format!("({n} bytes)"),
        })
        .collect();
    let expected: Vec<&str> = quotes.iter().copied().chain([book.as_str()]).collect();
    assert!(
        outcome.result.is_ok() && outcome.frames == expected,
        "the exchange sent {quotes:?} and one frame of 64 KiB (the largest it sends), whole, in \
         three bursts, then closed the connection; the session passed on [{}] and returned {:?}",
        shown.join(", "),
        outcome.result,
    );
}

#[tokio::test(start_paused = true)]
async fn a_length_over_the_limit_fails_the_session_at_once() {
    let too_long = (MAX_FRAME as u32 + 1).to_be_bytes();
    // A length prefix over MAX_FRAME, a few bytes, and then the connection stays open and
    // quiet for a minute: waiting for the rest of that frame would only hide the problem.
    let script = vec![
        Data([&too_long[..], b"garbage"].concat()),
        Pause(Duration::from_secs(60)),
    ];

    let outcome = session(script).await;

    assert!(
        outcome.result.is_err(),
        "the exchange announced a frame of {} bytes, over MAX_FRAME ({MAX_FRAME}); the session \
         should fail with an error, but it passed on {:?} and returned Ok(())",
        MAX_FRAME + 1,
        outcome.frames,
    );
    assert!(
        outcome.ended_at < Duration::from_secs(1),
        "the exchange announced a frame of {} bytes, over MAX_FRAME ({MAX_FRAME}), but the \
         session failed only {:?} later: a length over the limit means the stream is broken, \
         so fail as soon as you read it instead of waiting for the payload",
        MAX_FRAME + 1,
        outcome.ended_at,
    );
}

#[tokio::test(start_paused = true)]
async fn frames_cut_at_every_byte_arrive_intact() {
    // Frames of three sizes, each cut in two at a different place, so that every offset is a cut
    // once: inside the length prefix, right after it, and everywhere in the payload. The pauses
    // between the two halves vary, shorter and longer than the heartbeat period.
    let payloads = ["Z", "AUDUSD", "EURCHF 0.9412 0.9415 x3"];
    let pauses = [1_100, 2_300, 700, 1_600, 400, 3_100];
    let mut expected = Vec::new();
    let mut script = Vec::new();
    let mut step = 0;
    for payload in payloads {
        let bytes = frame(payload);
        for cut in 1..bytes.len() {
            script.push(Data(bytes[..cut].to_vec()));
            script.push(Pause(millis(pauses[step % pauses.len()])));
            script.push(Data(bytes[cut..].to_vec()));
            step += 1;
            expected.push(payload);
        }
    }

    let outcome = session(script).await;

    assert_delivered(
        &outcome,
        &expected,
        "With every frame cut in two at a different byte (prefix and payload), 0.4 s to 3.1 s \
         apart",
    );
    outcome.heartbeats.assert_steady(
        outcome.ended_at,
        Duration::from_secs(2),
        "while frames arrived in pieces",
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_session_releases_the_connection() {
    let (session_end, mut exchange_end) = tokio::io::duplex(64 * 1024);
    let heartbeats = Heartbeats::new(Instant::now());
    let (tx, mut rx) = mpsc::channel(16);
    // One whole frame, then the first half of the next one; the connection stays open.
    exchange_end
        .write_all(&frame("EURUSD 1.0842 1.0843"))
        .await
        .unwrap();
    exchange_end
        .write_all(&frame("GBPUSD 1.2655 1.2657")[..9])
        .await
        .unwrap();

    // The caller gives up on the session after 2.5 s and drops it, as a supervisor does before
    // it reconnects.
    let given = Duration::from_millis(2_500);
    let result = timeout(given, run_session(session_end, heartbeats, tx)).await;
    if let Ok(ended) = result {
        panic!(
            "the session returned {ended:?} although the connection was open and half a frame \
             was on its way: it should keep waiting for the rest"
        );
    }
    let first = rx
        .try_recv()
        .ok()
        .map(|f| String::from_utf8_lossy(&f).into_owned());
    assert_eq!(
        first.as_deref(),
        Some("EURUSD 1.0842 1.0843"),
        "the exchange sent one whole frame before the session was dropped, but the session did \
         not pass it on"
    );

    // Dropping the session must drop everything it started: the exchange sees the connection
    // close, and the frames channel closes.
    let mut buf = [0; 16];
    let closed = timeout(PATIENCE, exchange_end.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "run_session was dropped, but {PATIENCE:?} (virtual) later the exchange's end of the \
         connection was still open: something the session started still holds the connection \
         and keeps reading from it. Work a session starts must end when the session is dropped"
    );
    let channel = timeout(PATIENCE, rx.recv()).await;
    assert!(
        matches!(channel, Ok(None)),
        "run_session was dropped, but {PATIENCE:?} (virtual) later the frames channel was still \
         open ({channel:?}): something the session started still holds a sender. Work a session \
         starts must end when the session is dropped"
    );
}
