//! Accepted: no `JoinSet`: plain `tokio::spawn` with the permit moved into each task, and `run` waits for every connection by acquiring all the permits back (`acquire_many`)
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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

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
    let db = Db::default();
    // Every connection task holds one permit until it ends; all permits back means all ended.
    let limit = Arc::new(Semaphore::new(config.max_connections));
    let (stop, stopping) = watch::channel(false);

    let mut shutdown = std::pin::pin!(shutdown);
    let result = loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => break Err(err).context("accepting a connection"),
            },
            () = &mut shutdown => break Ok(()),
        };
        let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
            tracing::warn!(%peer, "turned away: too many connections");
            let _ = socket.try_write(BUSY);
            continue;
        };
        let db = db.clone();
        let stopping = stopping.clone();
        let idle_timeout = config.idle_timeout;
        // Nothing keeps the handle: the task reports its own failure, and `run` knows it has
        // ended when its permit comes back.
        tokio::spawn(async move {
            if let Err(err) = serve(socket, db, idle_timeout, stopping).await {
                tracing::warn!(%peer, "connection failed: {err:#}");
            }
            drop(permit);
        });
    };

    drop(listener);
    stop.send_replace(true);
    // Every permit back: every connection has ended.
    let all = u32::try_from(config.max_connections).context("max_connections is too large")?;
    let _all_back = limit
        .acquire_many(all)
        .await
        .context("the connection limit was closed")?;
    result
}

/// Reads commands and answers each one until the client hangs up, stays silent for
/// `idle_timeout`, or the server says stop (checked only between requests).
async fn serve(
    socket: TcpStream,
    db: Db,
    idle_timeout: Duration,
    mut stopping: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let (reader, mut writer) = socket.into_split();
    let mut lines = BufReader::new(reader).lines();
    loop {
        let line = tokio::select! {
            read = tokio::time::timeout(idle_timeout, lines.next_line()) => match read {
                Ok(line) => line.context("reading a command")?,
                Err(_elapsed) => return Ok(()),
            },
            _ = stopping.wait_for(|stop| *stop) => return Ok(()),
        };
        let Some(line) = line else { return Ok(()) };
        let answer = match Command::parse(&line) {
            Ok(command) => db.apply(command),
            Err(err) => format!("ERR {err}"),
        };
        writer
            .write_all(format!("{answer}\n").as_bytes())
            .await
            .context("writing an answer")?;
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
