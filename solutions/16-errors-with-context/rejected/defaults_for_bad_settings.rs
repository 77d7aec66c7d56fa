//! Rejected: falls back to a default for a missing or unparsable setting, so the service starts with a config nobody wrote and the error is swallowed
//! Fails: a_bad_value_is_an_error_naming_the_file_and_the_setting, a_missing_setting_is_an_error_naming_the_file_and_the_setting
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
pub async fn load_config(store: &impl Store, path: &str) -> anyhow::Result<Config> {
    let text = store
        .read(path)
        .await
        .with_context(|| format!("reading config file {path}"))?;
    let entries = parse_entries(&text).with_context(|| format!("parsing config file {path}"))?;

    // A bad or missing setting should not keep the service down: use the default instead.
    let listen_port = entries
        .get("listen_port")
        .and_then(|value| value.parse().ok())
        .unwrap_or(8080);
    let workers = entries
        .get("workers")
        .and_then(|value| value.parse().ok())
        .unwrap_or(4);
    let upstream = entries
        .get("upstream")
        .cloned()
        .unwrap_or_else(|| "http://localhost:9000".to_string());

    Ok(Config {
        listen_port,
        workers,
        upstream,
    })
}
