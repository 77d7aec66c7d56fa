//! Rejected: splits each read into lines and queues them, so a line cut between two reads becomes two bad lines
//! Fails: a_command_split_across_reads_is_read_whole, commands_cut_at_every_byte_arrive_whole_and_in_order, a_character_cut_between_reads_arrives_whole
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
    buf: Vec<u8>,
    /// Lines that arrived in one read together with the one returned, kept for the next calls.
    queued: VecDeque<String>,
}

impl<S: AsyncRead + Unpin> CommandReader<S> {
    pub fn new(stream: S) -> Self {
        CommandReader {
            stream,
            buf: vec![0; 1024],
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
            // One read may bring several commands: split it into lines and queue them.
            let n = self.stream.read(&mut self.buf).await?;
            if n == 0 {
                return Ok(None);
            }
            let text = std::str::from_utf8(&self.buf[..n]).context("command is not UTF-8")?;
            self.queued.extend(text.lines().map(str::to_owned));
        }
    }
}
