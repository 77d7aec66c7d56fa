//! The client side of every connection is tokio-test's mock I/O: each `.read(..)` of the builder
//! is what one `read` call on the server returns, so a test decides exactly how the bytes are cut
//! up, the way TCP may cut them up in production. Tests run on a paused clock, so waiting for a
//! command that never comes fails at once instead of hanging, and a test can tell whether a
//! command came back at once or only after the client's next bytes arrived.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use partial_reads::{Command, CommandReader};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::{timeout, Instant};
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

fn reader(mock: Mock) -> CommandReader<Client> {
    CommandReader::new(Client {
        mock,
        reads_at_eof: 0,
    })
}

/// A client that sends `chunks`, each one arriving as one read on the server, and then closes
/// the connection.
fn client_that_hangs_up(chunks: &[&[u8]]) -> CommandReader<Client> {
    let mut builder = Builder::new();
    for chunk in chunks {
        builder.read(chunk);
    }
    reader(builder.build())
}

/// A client that sends `chunks` and then stays connected, sending nothing more. Keep the handle
/// alive: the connection stays open while it lives.
fn client_that_stays(chunks: &[&[u8]]) -> (CommandReader<Client>, Handle) {
    let mut builder = Builder::new();
    for chunk in chunks {
        builder.read(chunk);
    }
    let (mock, handle) = builder.build_with_handle();
    (reader(mock), handle)
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

/// Shows the bytes a test sent the way the client sent them, one string per read. A character
/// cut in two between reads shows as `\u{fffd}` on both sides of the cut.
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
        let command = expect_command(reader, sent, index, &got, want).await;
        got.push(command);
    }
}

/// Reads command number `index` (from 0) and checks that it is `want`.
async fn expect_command(
    reader: &mut CommandReader<Client>,
    sent: &[&[u8]],
    index: usize,
    got: &[Command],
    want: &Command,
) -> Command {
    match next(reader, sent, index).await {
        Ok(Some(command)) => {
            assert_eq!(
                &command,
                want,
                "command #{} came out garbled: the reader returned {command:?} where the \
                 client sent {want:?}{}. The client's bytes were {} (one string per read): a \
                 read returns whatever bytes have arrived, part of a line or several lines, \
                 not one whole command",
                index + 1,
                after(got),
                shown(sent)
            );
            command
        }
        Ok(None) => panic!(
            "next_command returned None (connection closed) after {got:?}, but the client sent \
             {} and is still connected: the command {want:?} was never returned",
            shown(sent)
        ),
        Err(err) => panic!(
            "next_command failed on command #{}{} with \"{err:#}\", although the client sent \
             {want:?} there, a valid command: {} (one string per read). A read returns \
             whatever bytes have arrived, part of a line, several lines, even part of a \
             character, not one whole command",
            index + 1,
            after(got),
            shown(sent)
        ),
    }
}

/// Expects the end of the stream: `Ok(None)`, neither an error nor another command.
async fn expect_end(reader: &mut CommandReader<Client>, sent: &[&[u8]], index: usize, why: &str) {
    match next(reader, sent, index).await {
        Ok(None) => {}
        Ok(Some(command)) => panic!(
            "the client sent {} and closed the connection, yet next_command returned \
             {command:?} {why}: it should return None",
            shown(sent)
        ),
        Err(err) => panic!(
            "the client sent {} and closed the connection cleanly, yet next_command failed \
             with \"{err:#}\" {why}: a clean close is Ok(None), not an error",
            shown(sent)
        ),
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

/// Commands with letters outside ASCII, as bytes: `ü` and `é` take two bytes each in UTF-8, the
/// emoji four.
const SCRIPT: &[u8] = "SET city Zürich\nGET café\nSET mood 🙂\nGET city\n".as_bytes();

fn script_commands() -> [Command; 4] {
    [
        set("city", "Zürich"),
        get("café"),
        set("mood", "🙂"),
        get("city"),
    ]
}

#[tokio::test(start_paused = true)]
async fn commands_cut_at_every_byte_arrive_whole_and_in_order() {
    // The same commands cut in two at every byte, then sent one byte per read.
    for cut in 1..SCRIPT.len() {
        let sent: &[&[u8]] = &[&SCRIPT[..cut], &SCRIPT[cut..]];
        let (mut reader, _connected) = client_that_stays(sent);
        expect_commands(&mut reader, sent, &script_commands()).await;
    }
    let bytes: Vec<&[u8]> = SCRIPT.chunks(1).collect();
    let (mut reader, _connected) = client_that_stays(&bytes);
    expect_commands(&mut reader, &bytes, &script_commands()).await;
}

#[tokio::test(start_paused = true)]
async fn a_character_cut_between_reads_arrives_whole() {
    // `ü` is the two bytes C3 BC: the first read ends between them.
    let zurich = "SET city Zürich\n".as_bytes();
    let cut = zurich.iter().position(|&byte| byte == 0xC3).unwrap() + 1;
    let sent: &[&[u8]] = &[&zurich[..cut], &zurich[cut..], b"GET city\n"];
    let (mut reader, _connected) = client_that_stays(sent);

    expect_commands(&mut reader, sent, &[set("city", "Zürich"), get("city")]).await;
}

#[tokio::test(start_paused = true)]
async fn a_command_is_returned_as_soon_as_its_newline_arrives() {
    // The first read brings one whole command and the start of the next; the rest of the second
    // command comes 10 s later.
    const LATER: Duration = Duration::from_secs(10);
    let sent: &[&[u8]] = &[b"GET a\nSET b", b" 2\n"];
    let (mock, _connected) = Builder::new()
        .read(sent[0])
        .wait(LATER)
        .read(sent[1])
        .build_with_handle();
    let mut reader = reader(mock);
    let start = Instant::now();

    expect_command(&mut reader, sent, 0, &[], &get("a")).await;
    let waited = start.elapsed();
    assert!(
        waited < LATER,
        "the client's first read brought the whole command \"GET a\\n\" and the start of the \
         next one, yet next_command returned GET a only {waited:?} later, when the rest of the \
         next command arrived: a command must come back as soon as its newline is in, \
         whatever follows it"
    );
    expect_command(&mut reader, sent, 1, &[get("a")], &set("b", "2")).await;
}

#[tokio::test(start_paused = true)]
async fn keep_alive_lines_are_skipped() {
    let sent: &[&[u8]] = &[b"GET a\n", b"\n", b"\n", b"GET b\n\n", b"\nGET c\n"];
    let (mut reader, _connected) = client_that_stays(sent);

    expect_commands(&mut reader, sent, &[get("a"), get("b"), get("c")]).await;
}

#[tokio::test(start_paused = true)]
async fn a_bad_command_is_an_error_and_the_next_command_still_arrives() {
    let sent: &[&[u8]] = &[b"GET a\nFRO", b"B x\nGET b\n", b"SET a 1 2\nGET c\n"];
    let (mut reader, _connected) = client_that_stays(sent);

    let mut got = vec![expect_command(&mut reader, sent, 0, &[], &get("a")).await];
    for (bad, index, want) in [("FROB x", 1, get("b")), ("SET a 1 2", 3, get("c"))] {
        match next(&mut reader, sent, index).await {
            Err(_) => {}
            Ok(command) => panic!(
                "the client sent {bad:?}, which is not a command, and next_command returned \
                 {command:?} instead of an error"
            ),
        }
        got.push(expect_command(&mut reader, sent, index + 1, &got, &want).await);
    }
}

#[tokio::test(start_paused = true)]
async fn the_reader_stops_when_the_client_hangs_up() {
    let sent: &[&[u8]] = &[b"SET a 1\n", b"GET a\n"];
    let mut reader = client_that_hangs_up(sent);

    expect_commands(&mut reader, sent, &[set("a", "1"), get("a")]).await;
    expect_end(&mut reader, sent, 2, "after the last command").await;
    expect_end(
        &mut reader,
        sent,
        2,
        "when it was called again after returning None",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_client_that_sends_nothing_ends_at_once() {
    let mut reader = client_that_hangs_up(&[]);

    expect_end(&mut reader, &[], 0, "although nothing was sent").await;
}
