//! Startup configuration of the `ingest` service. The reference solution.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::str::FromStr;

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
/// When the service cannot start, the error this returns is all that the engineer on call gets
/// to see, so every failure says what was being done (which file, which setting) and keeps the
/// error that caused it. `{:#}` prints the whole chain, for example: invalid config file
/// /etc/ingest.conf: setting `listen_port` = "80800": number too large to fit in target type
pub async fn load_config(store: &impl Store, path: &str) -> anyhow::Result<Config> {
    // `?` returns the error instead of panicking; `with_context` wraps it with what we were doing
    // and keeps it as the cause (`map_err(|_| anyhow!(..))` threw the cause away).
    let text = store
        .read(path)
        .await
        .with_context(|| format!("reading config file {path}"))?;
    parse_config(&text).with_context(|| format!("invalid config file {path}"))
}

fn parse_config(text: &str) -> anyhow::Result<Config> {
    // SyntaxError implements std::error::Error, so `?` keeps it whole (it says which line).
    let entries = parse_entries(text)?;
    Ok(Config {
        listen_port: setting(&entries, "listen_port")?,
        workers: setting(&entries, "workers")?,
        upstream: setting(&entries, "upstream")?,
    })
}

/// Looks up one setting and parses it; both ways of failing name the setting.
fn setting<T>(entries: &HashMap<String, String>, key: &str) -> anyhow::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    // `Option` has `context` too: a missing key becomes an error instead of an `unwrap` panic.
    let value = entries
        .get(key)
        .with_context(|| format!("missing setting `{key}`"))?;
    value
        .parse()
        .with_context(|| format!("setting `{key}` = {value:?}"))
}
