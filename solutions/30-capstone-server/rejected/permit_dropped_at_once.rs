//! Rejected: checks for a permit with `let Ok(_) = ..try_acquire_owned()`, which drops it at once: the slot is free again before the connection is served
//! Fails: a_client_over_the_limit_is_turned_away_until_a_slot_frees_up
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

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinError, JoinSet};

/// How the server treats its clients.
#[derive(Debug, Clone)]
pub struct Config {
    /// At most this many clients are served at once. A client that connects while the server is
    /// full gets one line, `ERR <reason>` (say `ERR busy`), and is disconnected.
    pub max_connections: usize,
    /// A client that sends nothing for this long is disconnected.
    pub idle_timeout: Duration,
}

/// What a client over the limit is told before the server hangs up.
const BUSY: &[u8] = b"ERR busy: too many connections\n";

/// Serves clients from `listener` until `shutdown` completes, then shuts down gracefully: stops
/// accepting, lets every connection finish the request it is on, closes them, and returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    tracing::info!(?config, "serving");
    let mut server = Server {
        db: Db::default(),
        limit: Arc::new(Semaphore::new(config.max_connections)),
        connections: JoinSet::new(),
        stop: watch::Sender::new(false),
        idle_timeout: config.idle_timeout,
    };

    // Accept until asked to stop. The shutdown future is raced against each accept, not against
    // the whole server: winning the race only ends this loop, it cancels no connection.
    let mut shutdown = std::pin::pin!(shutdown);
    let result = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => server.admit(socket, peer),
                // Not lost: it ends the loop, the server still drains, then `run` returns it.
                Err(err) => break Err(err).context("accepting a connection"),
            },
            () = &mut shutdown => break Ok(()),
        }
    };

    // From here on the operating system refuses new clients.
    drop(listener);
    // Ask every connection to close once it is between requests, and wait until all have: `run`
    // returning is the caller's cue to exit the process, which would cut off answers mid-way.
    server.stop.send_replace(true);
    while let Some(joined) = server.connections.join_next().await {
        report(joined);
    }
    result
}

/// The accept loop's state.
struct Server {
    /// The store every connection reads and writes.
    db: Db,
    /// One permit per connection being served. Each connection task owns its permit and gives it
    /// back by dropping it when the task ends, however it ends (a panic included). With none
    /// left, new clients are turned away at once instead of piling up until the process runs out
    /// of file descriptors or memory.
    limit: Arc<Semaphore>,
    /// Every connection task still running. After the shutdown signal `run` waits here for them
    /// to finish, and a task that panicked shows up here instead of vanishing.
    connections: JoinSet<()>,
    /// Tells connection tasks to stop. A `watch` keeps its value: a task that is busy writing an
    /// answer when the signal is sent still sees it the next time it looks (a `Notify` would
    /// only wake the tasks waiting at that very moment).
    stop: watch::Sender<bool>,
    /// How long a connection may stay silent between commands.
    idle_timeout: Duration,
}

impl Server {
    /// Serves a new client in its own task if there is room, or turns it away.
    fn admit(&mut self, socket: TcpStream, peer: SocketAddr) {
        // Collect the tasks that have ended, so the set does not grow with every client ever seen.
        while let Some(joined) = self.connections.try_join_next() {
            report(joined);
        }

        let Ok(_) = Arc::clone(&self.limit).try_acquire_owned() else {
            tracing::warn!(%peer, "turned away: too many connections");
            // A fresh socket has room for one short line, so this does not need to wait.
            if let Err(err) = socket.try_write(BUSY) {
                tracing::debug!(%peer, "could not tell the client it was turned away: {err}");
            }
            return;
        };

        let connection = Connection {
            db: self.db.clone(),
            idle_timeout: self.idle_timeout,
            stop: self.stop.subscribe(),
        };
        self.connections.spawn(async move {
            if let Err(err) = connection.serve(socket).await {
                tracing::warn!(%peer, "connection failed: {err:#}");
            }
        });
    }
}

/// A connection task that ended badly is reported, not silently dropped.
fn report(joined: Result<(), JoinError>) {
    if let Err(err) = joined {
        tracing::error!("a connection task failed: {err}");
    }
}

/// What one connection task needs.
struct Connection {
    db: Db,
    idle_timeout: Duration,
    /// Becomes `true` when the server shuts down.
    stop: watch::Receiver<bool>,
}

impl Connection {
    /// Reads commands and answers each one until the client hangs up, stays silent for too
    /// long, or the server shuts down.
    async fn serve(mut self, socket: TcpStream) -> anyhow::Result<()> {
        let (reader, mut writer) = socket.into_split();
        let mut lines = BufReader::new(reader).lines();

        loop {
            // Shutdown and idleness are only checked here, between requests, never in the middle
            // of one. `next_line` is cancel safe, so losing the race loses no bytes.
            let line = tokio::select! {
                read = tokio::time::timeout(self.idle_timeout, lines.next_line()) => match read {
                    Ok(line) => line.context("reading a command")?,
                    Err(_elapsed) => {
                        tracing::debug!("closing an idle connection");
                        return Ok(());
                    }
                },
                // Also ends the connection if the server is gone without saying so.
                _ = self.stop.changed() => return Ok(()),
            };
            // `None`: the client hung up.
            let Some(line) = line else { return Ok(()) };

            let answer = match Command::parse(&line) {
                Ok(command) => self.db.apply(command),
                // A bad command is the client's mistake, not the connection's: tell the client
                // why and carry on. (With `?` it ended the connection, and the error was lost.)
                Err(err) => format!("ERR {err}"),
            };
            writer
                .write_all(format!("{answer}\n").as_bytes())
                .await
                .context("writing an answer")?;
        }
    }
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
