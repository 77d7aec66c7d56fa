//! A small key-value server speaking a line protocol over TCP.
//!
//! One command per line, one answer line per command:
//!
//! ```text
//! SET key value   ->  OK              (the value is the rest of the line, spaces included)
//! GET key         ->  VALUE value     or  NIL
//! DEL key         ->  DELETED         or  NIL
//! anything else   ->  ERR <reason>
//! ```
//!
//! Bug reports from operations, all about this one server:
//!
//! - "During Monday's traffic spike the server ran out of file descriptors and fell over."
//! - "Clients whose network died stay connected for days. We have thousands of dead connections."
//! - "On every deploy, a few clients lose the answer they were in the middle of receiving."
//! - "Clients say the server sometimes hangs up on them without a word. Our logs show nothing."

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How the server treats its clients.
#[derive(Debug, Clone)]
pub struct Config {
    /// At most this many clients are served at once. A client that connects while the server is
    /// full gets one line, `ERR <reason>` (say `ERR busy`), and is disconnected.
    pub max_connections: usize,
    /// A client that sends nothing for this long is disconnected.
    pub idle_timeout: Duration,
}

/// Serves clients from `listener` until `shutdown` completes, then shuts down gracefully: stops
/// accepting, lets every connection finish the request it is on, closes them, and returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    tracing::info!(?config, "serving");
    let db = Db::default();

    tokio::select! {
        result = accept_loop(&listener, &db) => result,
        // Stop as soon as we are asked to.
        () = shutdown => Ok(()),
    }
}

async fn accept_loop(listener: &TcpListener, db: &Db) -> anyhow::Result<()> {
    loop {
        let (socket, peer) = listener.accept().await.context("accepting a connection")?;
        tracing::debug!(%peer, "accepted");

        // One task per client, so that a slow client cannot hold up the others.
        let db = db.clone();
        tokio::spawn(async move {
            // When this returns, the client is gone and there is nothing left to do for it.
            let _ = handle_connection(socket, db).await;
        });
    }
}

/// Serves one client: reads commands and answers each one.
async fn handle_connection(socket: TcpStream, db: Db) -> anyhow::Result<()> {
    let (reader, mut writer) = socket.into_split();
    let mut lines = BufReader::new(reader).lines();

    // Serve commands until the client hangs up.
    while let Some(line) = lines.next_line().await? {
        let command = Command::parse(&line)?;
        let answer = db.apply(command);
        writer.write_all(format!("{answer}\n").as_bytes()).await?;
    }
    Ok(())
}

enum Command {
    Get { key: String },
    Set { key: String, value: String },
    Del { key: String },
}

impl Command {
    fn parse(line: &str) -> anyhow::Result<Command> {
        let mut words = line.splitn(3, ' ');
        let name = words.next().unwrap_or_default();
        let key = words
            .next()
            .filter(|key| !key.is_empty())
            .map(str::to_owned);
        let rest = words.next();
        match (name.to_ascii_uppercase().as_str(), key, rest) {
            ("GET", Some(key), None) => Ok(Command::Get { key }),
            ("SET", Some(key), Some(value)) => Ok(Command::Set {
                key,
                value: value.to_owned(),
            }),
            ("DEL", Some(key), None) => Ok(Command::Del { key }),
            ("GET" | "SET" | "DEL", ..) => anyhow::bail!("wrong number of arguments for {name}"),
            ("", ..) => anyhow::bail!("empty command"),
            _ => anyhow::bail!("unknown command {name:?}"),
        }
    }
}

/// The store. Cheap to clone: clones share one map.
#[derive(Debug, Clone, Default)]
struct Db {
    entries: Arc<Mutex<HashMap<String, String>>>,
}

impl Db {
    /// Runs one command and returns its answer, without the newline.
    fn apply(&self, command: Command) -> String {
        let mut entries = self.entries.lock().unwrap();
        match command {
            Command::Get { key } => match entries.get(&key) {
                Some(value) => format!("VALUE {value}"),
                None => "NIL".to_owned(),
            },
            Command::Set { key, value } => {
                entries.insert(key, value);
                "OK".to_owned()
            }
            Command::Del { key } => match entries.remove(&key) {
                Some(_) => "DELETED".to_owned(),
                None => "NIL".to_owned(),
            },
        }
    }
}
