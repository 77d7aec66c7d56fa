//! Accepted: a `Lines<BufReader<_>>` kept in the struct; `next_line` returns `None` at the end of the stream
//! The command reader of a small key-value server: clients send one command per line,
//! `GET <key>` or `SET <key> <value>`, each ended by `\n`.

use std::str::FromStr;

use anyhow::bail;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader, Lines};

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
    // `Lines` keeps a buffer across calls: the bytes past one line wait there for the next.
    lines: Lines<BufReader<S>>,
}

impl<S: AsyncRead + Unpin> CommandReader<S> {
    pub fn new(stream: S) -> Self {
        CommandReader {
            lines: BufReader::new(stream).lines(),
        }
    }

    /// Waits for the client's next command. Returns `Ok(None)` once the client has closed the
    /// connection and every command it sent has been returned.
    pub async fn next_command(&mut self) -> anyhow::Result<Option<Command>> {
        // `next_line` returns `None` at the end of the stream.
        while let Some(line) = self.lines.next_line().await? {
            let line = line.trim_end();
            if line.is_empty() {
                // Idle clients send an empty line now and then as a keep-alive: nothing to do.
                continue;
            }
            return Ok(Some(line.parse()?));
        }
        Ok(None)
    }
}
