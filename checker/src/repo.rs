//! Finding the kata repository and the places inside it.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The root of a kata repository: a cargo workspace with `exercises/` beside its manifest.
#[derive(Debug, Clone)]
pub struct Repo {
    pub root: PathBuf,
}

impl Repo {
    /// Finds the repository containing the current directory.
    pub fn discover() -> Result<Repo> {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        Self::containing(&cwd)
    }

    pub fn containing(start: &Path) -> Result<Repo> {
        for dir in start.ancestors() {
            if dir.join("exercises").is_dir() && dir.join("Cargo.toml").is_file() {
                return Ok(Repo {
                    root: dir.to_path_buf(),
                });
            }
        }
        bail!(
            "not inside a kata repository (no folder above {} has exercises/ and Cargo.toml): \
             cd into your copy of the repository first",
            start.display()
        )
    }

    pub fn exercises(&self) -> PathBuf {
        self.root.join("exercises")
    }

    pub fn solutions(&self) -> PathBuf {
        self.root.join("solutions")
    }

    /// Where cargo builds this repository: `CARGO_TARGET_DIR` when set, else `target/`.
    pub fn target_dir(&self) -> PathBuf {
        match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
            Some(dir) if dir.is_absolute() => dir,
            // cargo reads a relative one from the directory it was started in.
            Some(dir) => std::env::current_dir().map_or(dir.clone(), |cwd| cwd.join(dir)),
            None => self.root.join("target"),
        }
    }

    /// The learner's local state: progress, snapshots of the originals, backups. Ignored by git.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".kata")
    }
}
