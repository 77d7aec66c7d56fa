//! Rejected: a 64 KiB buffer instead of 1 KiB: a read still returns only what has arrived, and `Ok(0)` still spins
//! Fails: a_command_split_across_reads_is_read_whole, several_commands_in_one_read_are_all_returned, commands_cut_at_every_byte_arrive_whole_and_in_order, the_reader_stops_when_the_client_hangs_up
//! The command reader of a small key-value server: clients send one command per line,
//! `GET <key>` or `SET <key> <value>`, each ended by `\n`.
//!
//! Bug report from operations: "On localhost everything works. In production, clients now and
//! then get `unknown command` errors for commands that are perfectly valid, some commands are
//! silently applied to the wrong key, and every few hours a server thread sits at 100% CPU after
//! a client has disconnected."

use std::str::FromStr;

use anyhow::{bail, Context};
use tokio::io::{AsyncRead, AsyncReadExt};

/// One command sent by a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Get { key: String },
    Set { key: String, value: String },
}

impl FromStr for Command {
    type Err = anyhow::Error;

    /// Parses one line, without its line ending.
    fn from_str(line: &str) -> anyhow::Result<Command> {
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        match words.as_slice() {
            ["GET", key] => Ok(Command::Get {
                key: key.to_string(),
            }),
            ["SET", key, value] => Ok(Command::Set {
                key: key.to_string(),
                value: value.to_string(),
            }),
            _ => bail!("unknown command {line:?}"),
        }
    }
}

/// Reads the commands of one client connection (a TCP stream in production).
pub struct CommandReader<S> {
    stream: S,
    buf: Vec<u8>,
}

impl<S: AsyncRead + Unpin> CommandReader<S> {
    pub fn new(stream: S) -> Self {
        CommandReader {
            stream,
            // Plenty, whatever the client sends at once.
            buf: vec![0; 64 * 1024],
        }
    }

    /// Waits for the client's next command. Returns `Ok(None)` once the client has closed the
    /// connection and every command it sent has been returned.
    pub async fn next_command(&mut self) -> anyhow::Result<Option<Command>> {
        loop {
            // A command is one short line, so one read returns one command.
            let n = self.stream.read(&mut self.buf).await?;
            let line = std::str::from_utf8(&self.buf[..n]).context("command is not UTF-8")?;
            let line = line.trim_end();
            if line.is_empty() {
                // Idle clients send an empty line now and then as a keep-alive: nothing to do.
                continue;
            }
            return Ok(Some(line.parse()?));
        }
    }
}
