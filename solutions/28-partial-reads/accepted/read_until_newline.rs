//! Accepted: `read_until(b'\n', ..)` on a `BufReader` into a byte buffer, decoded only once the line is whole
//! The command reader of a small key-value server: clients send one command per line,
//! `GET <key>` or `SET <key> <value>`, each ended by `\n`.

use std::str::FromStr;

use anyhow::{bail, Context};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

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
    // The BufReader keeps the bytes past the current line for the next call.
    stream: BufReader<S>,
    line: Vec<u8>,
}

impl<S: AsyncRead + Unpin> CommandReader<S> {
    pub fn new(stream: S) -> Self {
        CommandReader {
            stream: BufReader::new(stream),
            line: Vec::new(),
        }
    }

    /// Waits for the client's next command. Returns `Ok(None)` once the client has closed the
    /// connection and every command it sent has been returned.
    pub async fn next_command(&mut self) -> anyhow::Result<Option<Command>> {
        loop {
            self.line.clear();
            // Reads until the delimiter, however many reads that takes; 0 is the end of stream.
            if self.stream.read_until(b'\n', &mut self.line).await? == 0 {
                return Ok(None);
            }
            // Decoded only once the whole line is in, so a character cut between reads is whole.
            let line = std::str::from_utf8(&self.line).context("command is not UTF-8")?;
            let line = line.trim_end();
            if line.is_empty() {
                // Idle clients send an empty line now and then as a keep-alive: nothing to do.
                continue;
            }
            return Ok(Some(line.parse()?));
        }
    }
}
