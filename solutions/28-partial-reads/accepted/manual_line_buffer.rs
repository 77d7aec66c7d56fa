//! Accepted: a byte buffer kept in the struct, refilled by `read` until it holds a newline; `Ok(0)` ends it
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
    /// Bytes received but not yet returned as a command: the start of the next line, or several
    /// lines. They outlive each call, so nothing that arrived is lost.
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
            // A whole line already here? Take it out of the buffer first, then look at it.
            if let Some(end) = self.pending.iter().position(|&byte| byte == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                let line = std::str::from_utf8(&line).context("command is not UTF-8")?;
                let line = line.trim_end();
                if line.is_empty() {
                    // Idle clients send an empty line now and then as a keep-alive.
                    continue;
                }
                return Ok(Some(line.parse()?));
            }
            // No whole line yet: wait for more bytes. Zero bytes is the end of the stream.
            let mut chunk = [0; 1024];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(None);
            }
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }
}
