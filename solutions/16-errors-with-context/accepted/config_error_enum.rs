//! Accepted: a `ConfigError` enum that holds the path and setting and returns the original error from `source()`
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
use std::num::ParseIntError;

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

/// Why the config could not be loaded. Each variant says which file (and setting); the error that
/// caused it, if any, is its `source()`, so `{:#}` prints it after the variant's message and
/// callers can still downcast to it.
#[derive(Debug)]
pub enum ConfigError {
    Read {
        path: String,
        source: io::Error,
    },
    Syntax {
        path: String,
        source: SyntaxError,
    },
    Missing {
        path: String,
        key: &'static str,
    },
    BadValue {
        path: String,
        key: &'static str,
        source: ParseIntError,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, .. } => write!(f, "reading config file {path}"),
            ConfigError::Syntax { path, .. } => write!(f, "parsing config file {path}"),
            ConfigError::Missing { path, key } => write!(f, "{path}: no setting `{key}`"),
            ConfigError::BadValue { path, key, .. } => {
                write!(f, "{path}: invalid value for setting `{key}`")
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { source, .. } => Some(source),
            ConfigError::Syntax { source, .. } => Some(source),
            ConfigError::Missing { .. } => None,
            ConfigError::BadValue { source, .. } => Some(source),
        }
    }
}

/// Reads the config file at `path` and checks every setting.
pub async fn load_config(store: &impl Store, path: &str) -> anyhow::Result<Config> {
    Ok(read_config(store, path).await?)
}

async fn read_config(store: &impl Store, path: &str) -> Result<Config, ConfigError> {
    let owned = || path.to_string();
    let text = store.read(path).await.map_err(|source| ConfigError::Read {
        path: owned(),
        source,
    })?;
    let entries = parse_entries(&text).map_err(|source| ConfigError::Syntax {
        path: owned(),
        source,
    })?;
    let get = |key: &'static str| {
        entries
            .get(key)
            .ok_or_else(|| ConfigError::Missing { path: owned(), key })
    };
    let bad = |key: &'static str| {
        move |source| ConfigError::BadValue {
            path: path.to_string(),
            key,
            source,
        }
    };

    Ok(Config {
        listen_port: get("listen_port")?.parse().map_err(bad("listen_port"))?,
        workers: get("workers")?.parse().map_err(bad("workers"))?,
        upstream: get("upstream")?.clone(),
    })
}
