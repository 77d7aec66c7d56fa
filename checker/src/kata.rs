//! Kata metadata (`kata.toml`), discovery of every kata, and resolving the names learners type.

use crate::repo::Repo;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The version of `kata.toml` this checker understands.
pub const METADATA_FORMAT: u32 = 1;
const DEFAULT_TIMEOUT_SECS: u64 = 5;

/// The contents of a kata's `kata.toml`. See `docs/kata-format.md`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub format: u32,
    pub id: String,
    pub order: u32,
    pub module: String,
    pub title: String,
    pub difficulty: Difficulty,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Seconds a test process may run; 0 would time out every test, so it cannot be written.
    #[serde(default, deserialize_with = "at_least_one_second")]
    pub timeout_secs: Option<NonZeroU64>,
    pub on_timeout: Option<String>,
    #[serde(default)]
    pub clippy_lints: Vec<String>,
    #[serde(default)]
    pub hints: Vec<String>,
    /// Every test of the kata, with its points. `verify` proves this list is complete.
    pub tests: BTreeMap<String, u32>,
    pub untouched: Untouched,
}

fn at_least_one_second<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<NonZeroU64>, D::Error> {
    let secs = u64::deserialize(deserializer)?;
    NonZeroU64::new(secs).map(Some).ok_or_else(|| {
        serde::de::Error::custom(
            "timeout_secs must be at least 1: with 0 every test would time out",
        )
    })
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Difficulty {
    Easy,
    Medium,
    Hard,
}

/// How the kata fails before a learner touches it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Untouched {
    pub compiles: bool,
    /// For a kata that must not compile: text the compiler's errors must contain (an error code
    /// such as "E0277", or a phrase), so that a typo cannot pass for the intended error.
    pub compile_error: Option<String>,
    #[serde(default)]
    pub failing: Vec<String>,
    #[serde(default)]
    pub timed_out: Vec<String>,
    #[serde(default)]
    pub lints: Vec<String>,
}

/// One kata as found on disk.
#[derive(Debug, Clone)]
pub struct Kata {
    /// The folder name, `NN-slug`: the kata's stable key in progress files and reports.
    pub name: String,
    pub meta: Metadata,
    pub exercise_dir: PathBuf,
    pub solution_dir: PathBuf,
}

impl Kata {
    pub fn slug(&self) -> &str {
        self.name
            .split_once('-')
            .map_or(&self.name, |(_, slug)| slug)
    }

    pub fn exercise_package(&self) -> String {
        format!("kata-{}", self.name)
    }

    pub fn solution_package(&self) -> String {
        format!("solution-{}", self.name)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(
            self.meta
                .timeout_secs
                .map_or(DEFAULT_TIMEOUT_SECS, NonZeroU64::get),
        )
    }

    pub fn max_points(&self) -> u32 {
        self.meta.tests.values().sum()
    }

    pub fn points_for(&self, test: &str) -> u32 {
        self.meta.tests.get(test).copied().unwrap_or(0)
    }
}

/// Every kata of the repository, in course order.
#[derive(Debug)]
pub struct Catalogue {
    pub katas: Vec<Kata>,
    /// Kata folders whose metadata could not be read, with why: one broken kata must not stop
    /// a learner from working on the others, but `verify` fails on it.
    pub broken: Vec<(String, String)>,
}

impl Catalogue {
    pub fn load(repo: &Repo) -> Result<Catalogue> {
        let dir = repo.exercises();
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
        let mut katas = Vec::new();
        let mut broken = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if path.join("kata.toml").is_file() {
                match load_kata(repo, &path) {
                    Ok(kata) => katas.push(kata),
                    Err(err) => broken.push((path.display().to_string(), format!("{err:#}"))),
                }
            }
        }
        katas.sort_by_key(|k| k.meta.order);
        for pair in katas.windows(2) {
            if pair[0].meta.order == pair[1].meta.order {
                bail!(
                    "katas {} and {} have the same order {}",
                    pair[0].name,
                    pair[1].name,
                    pair[0].meta.order
                );
            }
        }
        if katas.is_empty() {
            bail!("no katas found in {}", dir.display());
        }
        Ok(Catalogue { katas, broken })
    }

    pub fn get(&self, name: &str) -> Option<&Kata> {
        self.katas.iter().find(|k| k.name == name)
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.katas.iter().position(|k| k.name == name)
    }

    /// Resolves what a learner typed: `10-channel-close`, `channel-close`, `3.2` or `10`.
    pub fn resolve(&self, query: &str) -> Result<&Kata> {
        let query = query.trim().trim_end_matches('/');
        let query = query.rsplit('/').next().unwrap_or(query);
        let found = self.katas.iter().find(|k| {
            k.name == query
                || k.slug() == query
                || k.meta.id == query
                || query.parse::<u32>().is_ok_and(|n| n == k.meta.order)
        });
        if let Some(kata) = found {
            return Ok(kata);
        }
        let closest = self
            .katas
            .iter()
            .map(|k| {
                (
                    strsim::jaro_winkler(query, k.slug()).max(strsim::jaro_winkler(query, &k.name)),
                    k,
                )
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match closest {
            Some((score, kata)) if score > 0.7 => {
                bail!("no kata named `{query}`; did you mean `{}`? (`cargo kata list` shows them all)", kata.name)
            }
            _ => bail!("no kata named `{query}` (`cargo kata list` shows them all)"),
        }
    }
}

fn load_kata(repo: &Repo, dir: &Path) -> Result<Kata> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .context("kata folder names must be UTF-8")?
        .to_string();
    let meta_path = dir.join("kata.toml");
    let text = std::fs::read_to_string(&meta_path)
        .with_context(|| format!("cannot read {}", meta_path.display()))?;
    let meta: Metadata = toml::from_str(&text)
        .with_context(|| format!("{} is not valid kata metadata", meta_path.display()))?;
    if meta.format != METADATA_FORMAT {
        bail!(
            "{} has format {}, but this checker understands format {METADATA_FORMAT}: update the checker",
            meta_path.display(),
            meta.format
        );
    }
    Ok(Kata {
        solution_dir: repo.solutions().join(&name),
        exercise_dir: dir.to_path_buf(),
        name,
        meta,
    })
}
