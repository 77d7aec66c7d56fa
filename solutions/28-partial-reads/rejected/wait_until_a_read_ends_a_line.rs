//! Rejected: buffers reads until what arrived ends with a newline, so a whole command waits while the next one is still coming
//! Fails: a_command_is_returned_as_soon_as_its_newline_arrives
//! The command reader of a small key-value server: clients send one command per line,
//! `GET <key>` or `SET <key> <value>`, each ended by `\n`.

use std::collections::VecDeque;
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
    /// What has arrived so far, until it ends with a newline.
    received: Vec<u8>,
    /// Whole lines waiting to be returned.
    queued: VecDeque<String>,
}

impl<S: AsyncRead + Unpin> CommandReader<S> {
    pub fn new(stream: S) -> Self {
        CommandReader {
            stream,
            received: Vec::new(),
            queued: VecDeque::new(),
        }
    }

    /// Waits for the client's next command. Returns `Ok(None)` once the client has closed the
    /// connection and every command it sent has been returned.
    pub async fn next_command(&mut self) -> anyhow::Result<Option<Command>> {
        loop {
            if let Some(line) = self.queued.pop_front() {
                if line.trim_end().is_empty() {
                    // Idle clients send an empty line now and then as a keep-alive.
                    continue;
                }
                return Ok(Some(line.trim_end().parse()?));
            }
            // Keep reading until what has arrived ends with a newline: then it is whole lines.
            let mut chunk = [0; 1024];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(None);
            }
            self.received.extend_from_slice(&chunk[..n]);
            if self.received.ends_with(b"\n") {
                let text = String::from_utf8(std::mem::take(&mut self.received))
                    .context("command is not UTF-8")?;
                self.queued.extend(text.lines().map(str::to_owned));
            }
        }
    }
}
