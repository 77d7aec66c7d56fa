//! The kept fixes' scratch workspace: `target/kept-fixes/<kata>/<kind>-<name>/`, one crate per
//! fix, each the kata's manifest and tests with the fix as its `src/lib.rs`.
//!
//! The folder stays between runs and files are rewritten only when they change, so a second
//! `verify` rebuilds only the fixes that changed. One `verify` at a time owns it.

use crate::kata::Kata;
use crate::kept_fixes::KeptFix;
use crate::scratch;
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

/// The scratch workspace, locked for this process while it lives.
pub struct FixWorkspace {
    pub root: PathBuf,
    _lock: File,
}

/// Where one kept fix is built.
pub struct FixCrate {
    pub package: String,
    pub dir: PathBuf,
}

impl FixWorkspace {
    /// Opens (and locks) the workspace under `target`, waiting for another `verify` using it.
    pub fn open(repo_root: &Path, target: &Path) -> Result<FixWorkspace> {
        let root = target.join("kept-fixes");
        fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
        let lock_path = target.join("kept-fixes.lock");
        let lock = File::create(&lock_path)
            .with_context(|| format!("cannot create {}", lock_path.display()))?;
        if lock.try_lock().is_err() {
            eprintln!("waiting for another `cargo kata verify` to finish with the kept fixes...");
            lock.lock()
                .with_context(|| format!("cannot lock {}", lock_path.display()))?;
        }
        scratch::write_workspace(repo_root, &root, &["*/*"])?;
        // The folder is under the build directory, which may be outside the repository.
        scratch::write_cargo_config(repo_root, &root)?;
        Ok(FixWorkspace { root, _lock: lock })
    }

    /// Lays out `fixes` of `kata` as crates, removing the kata's crates of fixes that are gone.
    pub fn lay_out(&self, kata: &Kata, fixes: &[KeptFix]) -> Result<Vec<FixCrate>> {
        let kata_dir = self.root.join(&kata.name);
        let mut crates = Vec::new();
        for fix in fixes {
            let folder = format!("{}-{}", fix.kind.folder(), fix.name);
            let package = format!("fix-{}-{folder}", kata.name);
            let dir = kata_dir.join(&folder);
            scratch::sync_dir(&dir, &scratch::kata_crate(kata, &package, &fix.source)?)?;
            crates.push(FixCrate { package, dir });
        }
        let wanted: BTreeSet<&Path> = crates.iter().map(|c| c.dir.as_path()).collect();
        remove_dirs_except(&kata_dir, &wanted)?;
        Ok(crates)
    }

    /// Removes the crates of katas that no longer exist.
    pub fn forget_other_katas(&self, katas: &[Kata]) -> Result<()> {
        let wanted: BTreeSet<PathBuf> = katas.iter().map(|k| self.root.join(&k.name)).collect();
        remove_dirs_except(&self.root, &wanted.iter().map(PathBuf::as_path).collect())
    }
}

/// Removes the folders of `parent` not in `keep`; hidden ones (cargo's `.cargo/`) stay.
fn remove_dirs_except(parent: &Path, keep: &BTreeSet<&Path>) -> Result<()> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let path = entry.path();
        if path.is_dir() && !hidden && !keep.contains(path.as_path()) {
            fs::remove_dir_all(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}
