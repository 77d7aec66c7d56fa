//! The client side of every connection is tokio-test's mock I/O: each `.read(..)` of the builder
//! is what one `read` call on the server returns, so a test decides exactly how the bytes are cut
//! up, the way TCP may cut them up in production. Tests run on a paused clock, so waiting for a
//! command that never comes fails at once instead of hanging.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use partial_reads::{Command, CommandReader};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::timeout;
use tokio_test::io::{Builder, Handle, Mock};

/// Far longer than any test needs: the mock delivers its bytes without delay.
const PATIENCE: Duration = Duration::from_secs(60);

/// A correct reader calls `read` once, maybe twice, after the end of the stream. A reader that
/// ignores `Ok(0)` calls it again and again, never waiting, so no timeout could ever stop it.
const READS_AT_EOF_ALLOWED: usize = 100;

/// The client's end of the connection: the mock, plus a count of the reads that found the end of
/// the stream, to stop a reader that spins on `Ok(0)`.
struct Client {
    mock: Mock,
    reads_at_eof: usize,
}

impl AsyncRead for Client {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.mock).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            if buf.filled().len() == before && buf.remaining() > 0 {
                self.reads_at_eof += 1;
                assert!(
                    self.reads_at_eof <= READS_AT_EOF_ALLOWED,
                    "the reader kept calling read after end of stream ({} reads returned \
                     Ok(0)): Ok(0) means the peer closed the connection, and no more data will \
                     ever come. next_command should return Ok(None) instead of reading again",
                    self.reads_at_eof
                );
            }
        }
        poll
    }
}

/// A client that sends `chunks`, each one arriving as one read on the server, and then closes
/// the connection.
fn client_that_hangs_up(chunks: &[&[u8]]) -> CommandReader<Client> {
    let mut builder = Builder::new();
    for chunk in chunks {
        builder.read(chunk);
    }
    CommandReader::new(Client {
        mock: builder.build(),
        reads_at_eof: 0,
    })
}

/// A client that sends `chunks` and then stays connected, sending nothing more. Keep the handle
/// alive: the connection stays open while it lives.
fn client_that_stays(chunks: &[&[u8]]) -> (CommandReader<Client>, Handle) {
    let mut builder = Builder::new();
    for chunk in chunks {
        builder.read(chunk);
    }
    let (mock, handle) = builder.build_with_handle();
    let reader = CommandReader::new(Client {
        mock,
        reads_at_eof: 0,
    });
    (reader, handle)
}

fn get(key: &str) -> Command {
    Command::Get {
        key: key.to_string(),
    }
}

fn set(key: &str, value: &str) -> Command {
    Command::Set {
        key: key.to_string(),
        value: value.to_string(),
    }
}

/// Shows the bytes a test sent the way the client sent them, one string per read.
fn shown(chunks: &[&[u8]]) -> String {
    let chunks: Vec<String> = chunks
        .iter()
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect();
    format!("{chunks:?}")
}

/// Names the commands already returned, if any, for a failure message.
fn after(got: &[Command]) -> String {
    if got.is_empty() {
        String::new()
    } else {
        format!(" (after {got:?})")
    }
}

/// Calls `next_command` once, for at most `PATIENCE` of virtual time.
async fn next(
    reader: &mut CommandReader<Client>,
    sent: &[&[u8]],
    index: usize,
) -> anyhow::Result<Option<Command>> {
    timeout(PATIENCE, reader.next_command())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "next_command for command #{} was still waiting 60 s (virtual) later, after \
                 the client sent {}: it waited for more data although a whole command had \
                 arrived. Return each command as soon as its newline has been read",
                index + 1,
                shown(sent)
            )
        })
}

/// Reads exactly `expected.len()` commands and checks each one.
async fn expect_commands(reader: &mut CommandReader<Client>, sent: &[&[u8]], expected: &[Command]) {
    let mut got = Vec::new();
    for (index, want) in expected.iter().enumerate() {
        match next(reader, sent, index).await {
            Ok(Some(command)) => {
                assert_eq!(
                    &command,
                    want,
                    "command #{} came out garbled: the reader returned {command:?} where the \
                     client sent {want:?}{}. The client's bytes were {} (one string per read): \
                     a read returns whatever bytes have arrived, part of a line or several \
                     lines, not one whole command",
                    index + 1,
                    after(&got),
                    shown(sent)
                );
                got.push(command);
            }
            Ok(None) => panic!(
                "next_command returned None (connection closed) after {got:?}, but the client \
                 sent {} and is still connected: only {} of its {} commands were returned",
                shown(sent),
                got.len(),
                expected.len()
            ),
            Err(err) => panic!(
                "next_command failed on command #{}{} with \"{err:#}\", although the client \
                 sent only valid commands: {} (one string per read). A read returns whatever \
                 bytes have arrived, part of a line or several lines, not one whole command",
                index + 1,
                after(&got),
                shown(sent)
            ),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_command_split_across_reads_is_read_whole() {
    let sent: &[&[u8]] = &[b"GET ke", b"y\n", b"SE", b"T colour", b" blue", b"\n"];
    let (mut reader, _connected) = client_that_stays(sent);

    expect_commands(&mut reader, sent, &[get("key"), set("colour", "blue")]).await;
}

#[tokio::test(start_paused = true)]
async fn several_commands_in_one_read_are_all_returned() {
    let sent: &[&[u8]] = &[b"SET a 1\nSET b 2\nGET a\n", b"GET b\n"];
    let (mut reader, _connected) = client_that_stays(sent);

    expect_commands(
        &mut reader,
        sent,
        &[set("a", "1"), set("b", "2"), get("a"), get("b")],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn commands_cut_anywhere_arrive_whole_and_in_order() {
    let sent: &[&[u8]] = &[
        b"GET ke",
        b"y\nSET a 1\nSE",
        b"T b",
        b" 2\n",
        b"G",
        b"E",
        b"T",
        b" ",
        b"a",
        b"\n",
        b"GET b\nGET c",
        b"\n",
    ];
    let (mut reader, _connected) = client_that_stays(sent);

    expect_commands(
        &mut reader,
        sent,
        &[
            get("key"),
            set("a", "1"),
            set("b", "2"),
            get("a"),
            get("b"),
            get("c"),
        ],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn keep_alive_lines_are_skipped() {
    let sent: &[&[u8]] = &[b"GET a\n", b"\n", b"\n", b"GET b\n"];
    let (mut reader, _connected) = client_that_stays(sent);

    expect_commands(&mut reader, sent, &[get("a"), get("b")]).await;
}

#[tokio::test(start_paused = true)]
async fn the_reader_stops_when_the_client_hangs_up() {
    let sent: &[&[u8]] = &[b"SET a 1\n", b"GET a\n"];
    let mut reader = client_that_hangs_up(sent);

    expect_commands(&mut reader, sent, &[set("a", "1"), get("a")]).await;

    match next(&mut reader, sent, 2).await {
        Ok(None) => {}
        Ok(Some(command)) => panic!(
            "the client sent {} and closed the connection, yet next_command returned a third \
             command, {command:?}: after the last command it should return None",
            shown(sent)
        ),
        Err(err) => panic!(
            "the client sent {} and closed the connection cleanly, yet next_command failed \
             with \"{err:#}\": a clean close is Ok(None), not an error",
            shown(sent)
        ),
    }
}

#[tokio::test(start_paused = true)]
async fn a_client_that_sends_nothing_ends_at_once() {
    let mut reader = client_that_hangs_up(&[]);

    match next(&mut reader, &[], 0).await {
        Ok(None) => {}
        Ok(Some(command)) => panic!(
            "the client connected and closed the connection without sending anything, yet \
             next_command returned {command:?}"
        ),
        Err(err) => panic!(
            "the client connected and closed the connection without sending anything, and \
             next_command failed with \"{err:#}\": a clean close is Ok(None), not an error"
        ),
    }
}
