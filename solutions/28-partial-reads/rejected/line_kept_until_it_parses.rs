//! Rejected: a byte buffer that removes a line only once it parsed, so a bad command stays in front of every later one
//! Fails: a_bad_command_is_an_error_and_the_next_command_still_arrives
//! The command reader of a small key-value server: clients send one command per line,
//! `GET <key>` or `SET <key> <value>`, each ended by `\n`.

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
    /// Bytes received but not yet returned as a command.
    pending: Vec<u8>,
}

impl<S: AsyncRead + Unpin> CommandReader<S> {
    pub fn new(stream: S) -> Self {
        CommandReader {
            stream,
            pending: Vec::new(),
        }
    }

    /// Waits for the client's next command. Returns `Ok(None)` once the client has closed the
    /// connection and every command it sent has been returned.
    pub async fn next_command(&mut self) -> anyhow::Result<Option<Command>> {
        loop {
            if let Some(end) = self.pending.iter().position(|&byte| byte == b'\n') {
                let line =
                    std::str::from_utf8(&self.pending[..end]).context("command is not UTF-8")?;
                let line = line.trim_end();
                if line.is_empty() {
                    self.pending.drain(..=end);
                    // Idle clients send an empty line now and then as a keep-alive.
                    continue;
                }
                let command = line.parse()?;
                // The line is done with: the next call starts after it.
                self.pending.drain(..=end);
                return Ok(Some(command));
            }
            let mut chunk = [0; 1024];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(None);
            }
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }
}
