//! Accepted: a `with_context` on every step, each message naming the file (and the setting)
//! Startup configuration of the `ingest` service.
//!
//! Incident report: "Friday's deploy did not come up. On some hosts the service crashed at start
//! with `called Option::unwrap() on a None value`, on the others it exited with
//! `Error: invalid config`. Neither said which file or which setting. It took two hours to find
//! the typo: `listen_port = 80800` in one host's config."

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;

use anyhow::Context;

/// Where config files come from: the local disk on most hosts, the config service on others.
/// Reading is async because either can be slow.
pub trait Store {
    /// Reads the whole file at `path`.
    fn read(&self, path: &str) -> impl Future<Output = io::Result<String>> + Send;
}

/// What the service needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub listen_port: u16,
    pub workers: usize,
    pub upstream: String,
}

/// A line of a config file that is not `key = value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub text: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: expected `key = value`, found {:?}",
            self.line, self.text
        )
    }
}

impl std::error::Error for SyntaxError {}

/// Splits a config file into its `key = value` entries. Blank lines and `#` comments are skipped.
pub fn parse_entries(text: &str) -> Result<HashMap<String, String>, SyntaxError> {
    let mut entries = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(SyntaxError {
                line: index + 1,
                text: line.to_string(),
            });
        };
        entries.insert(key.trim().to_string(), value.trim().to_string());
    }
    Ok(entries)
}

/// Reads the config file at `path` and checks every setting.
///
/// Every failure says which file (and which setting) it is about, and keeps the error that
/// caused it as its source.
pub async fn load_config(store: &impl Store, path: &str) -> anyhow::Result<Config> {
    let text = store
        .read(path)
        .await
        .with_context(|| format!("cannot read config file {path}"))?;

    let entries =
        parse_entries(&text).with_context(|| format!("cannot parse config file {path}"))?;

    let listen_port = entries
        .get("listen_port")
        .with_context(|| format!("{path}: missing setting `listen_port`"))?
        .parse::<u16>()
        .with_context(|| format!("{path}: bad value for `listen_port`"))?;
    let workers = entries
        .get("workers")
        .with_context(|| format!("{path}: missing setting `workers`"))?
        .parse::<usize>()
        .with_context(|| format!("{path}: bad value for `workers`"))?;
    let upstream = entries
        .get("upstream")
        .with_context(|| format!("{path}: missing setting `upstream`"))?
        .clone();

    Ok(Config {
        listen_port,
        workers,
        upstream,
    })
}
