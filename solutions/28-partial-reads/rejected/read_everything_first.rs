//! Rejected: reads the whole stream before returning anything, so a connected client never gets an answer
//! Fails: a_command_split_across_reads_is_read_whole, several_commands_in_one_read_are_all_returned, a_command_is_returned_as_soon_as_its_newline_arrives, keep_alive_lines_are_skipped
//! The command reader of a small key-value server: clients send one command per line,
//! `GET <key>` or `SET <key> <value>`, each ended by `\n`.

use std::collections::VecDeque;
use std::str::FromStr;

use anyhow::bail;
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
    /// Every line the client sent, once it has closed the connection.
    lines: Option<VecDeque<String>>,
}

impl<S: AsyncRead + Unpin> CommandReader<S> {
    pub fn new(stream: S) -> Self {
        CommandReader {
            stream,
            lines: None,
        }
    }

    /// Waits for the client's next command. Returns `Ok(None)` once the client has closed the
    /// connection and every command it sent has been returned.
    pub async fn next_command(&mut self) -> anyhow::Result<Option<Command>> {
        if self.lines.is_none() {
            // Read everything first, so no command is ever cut in two.
            let mut text = String::new();
            self.stream.read_to_string(&mut text).await?;
            self.lines = Some(text.lines().map(str::to_owned).collect());
        }
        let lines = self.lines.as_mut().expect("read above");
        while let Some(line) = lines.pop_front() {
            if line.trim_end().is_empty() {
                continue;
            }
            return Ok(Some(line.trim_end().parse()?));
        }
        Ok(None)
    }
}
