//! The command reader of a small key-value server: clients send one command per line,
//! `GET <key>` or `SET <key> <value>`, each ended by `\n`. The reference solution.

use std::str::FromStr;

use anyhow::bail;
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
    // A read returns whatever bytes have arrived: part of a line, or several lines. The
    // BufReader keeps the bytes past the current line for the next call, so nothing is lost.
    stream: BufReader<S>,
    line: String,
}

impl<S: AsyncRead + Unpin> CommandReader<S> {
    pub fn new(stream: S) -> Self {
        CommandReader {
            stream: BufReader::new(stream),
            line: String::new(),
        }
    }

    /// Waits for the client's next command. Returns `Ok(None)` once the client has closed the
    /// connection and every command it sent has been returned.
    pub async fn next_command(&mut self) -> anyhow::Result<Option<Command>> {
        loop {
            // `read_line` reads until the `\n`, however many reads that takes.
            self.line.clear();
            let n = self.stream.read_line(&mut self.line).await?;
            if n == 0 {
                // Zero bytes is not an empty line: it is the end of the stream. The client has
                // closed the connection, and reading again would return 0 again, forever.
                return Ok(None);
            }
            let line = self.line.trim_end();
            if line.is_empty() {
                // Idle clients send an empty line now and then as a keep-alive: nothing to do.
                continue;
            }
            return Ok(Some(line.parse()?));
        }
    }
}
