//! Scratch workspaces: cargo workspaces the checker writes itself, each crate a kata's pristine
//! manifest and tests with some other `src/` (a kept fix, a student's submission).
//!
//! They take the repository's workspace manifest (dependency versions, profiles, lints) and its
//! lock file, and build into a shared target directory, so dependencies compile once for all.

use crate::commands::offline;
use crate::kata::Kata;
use crate::snapshots::walk;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Writes the workspace manifest at `root`: the repository's, with `members` as its only members.
/// The lock file comes along, so every scratch build resolves the versions the repository does.
pub fn write_workspace(repo_root: &Path, root: &Path, members: &[&str]) -> Result<()> {
    let source = repo_root.join("Cargo.toml");
    let mut manifest: toml::Table = toml::from_str(
        &fs::read_to_string(&source)
            .with_context(|| format!("cannot read {}", source.display()))?,
    )
    .with_context(|| format!("{} is not valid TOML", source.display()))?;
    let workspace = manifest
        .get_mut("workspace")
        .and_then(|w| w.as_table_mut())
        .context("the repository's Cargo.toml has no [workspace]")?;
    let members = members.iter().map(|&m| m.into()).collect();
    workspace.insert("members".into(), toml::Value::Array(members));
    workspace.remove("default-members");
    // A build started inside the folder by hand leaves a target/ that a glob would take for a
    // member.
    workspace.insert("exclude".into(), toml::Value::Array(vec!["target".into()]));
    fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
    write_if_changed(
        &root.join("Cargo.toml"),
        toml::to_string(&manifest)?.as_bytes(),
    )?;
    let lock = repo_root.join("Cargo.lock");
    if lock.is_file() {
        let bytes = fs::read(&lock).with_context(|| format!("cannot read {}", lock.display()))?;
        write_if_changed(&root.join("Cargo.lock"), &bytes)?;
    }
    Ok(())
}

/// Cargo's configuration for a scratch workspace outside the checkout, which cargo would not
/// find there: the repository's vendored crates, when it was prepared with `cargo kata offline`.
pub fn write_cargo_config(repo_root: &Path, root: &Path) -> Result<()> {
    let path = root.join(".cargo").join("config.toml");
    if !offline::is_prepared(repo_root) {
        return match fs::remove_file(&path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                Err(err).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => Ok(()),
        };
    }
    let vendor = repo_root.join(offline::VENDOR_DIR);
    let config = format!(
        "[source.crates-io]\nreplace-with = \"kata-vendored\"\n\n[source.kata-vendored]\ndirectory = {:?}\n",
        vendor.display().to_string()
    );
    write_if_changed(&path, config.as_bytes())
}

/// The kata's own manifest, with its package renamed: the lib name stays, so the kata's tests
/// compile against the crate unchanged, while every crate of a scratch workspace has its own
/// package name and all of them build in one cargo invocation.
pub fn renamed_manifest(kata: &Kata, package: &str) -> Result<String> {
    let path = kata.exercise_dir.join("Cargo.toml");
    let mut manifest: toml::Table = toml::from_str(
        &fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?,
    )
    .with_context(|| format!("{} is not valid TOML", path.display()))?;
    manifest
        .get_mut("package")
        .and_then(|p| p.as_table_mut())
        .with_context(|| format!("{} has no [package]", path.display()))?
        .insert("name".into(), package.into());
    Ok(toml::to_string(&manifest)?)
}

/// Writes `bytes` to `path` unless it already holds exactly them: an unchanged file keeps its
/// modification time, and cargo then reuses what it built from it last time.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Makes `dir` hold exactly `files` (paths relative to `dir`): new and changed files are
/// written, unchanged ones are left alone, and anything else is removed.
pub fn sync_dir(dir: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) -> Result<()> {
    for existing in walk(dir).unwrap_or_default() {
        let relative = existing.strip_prefix(dir).expect("walked inside");
        if !files.contains_key(relative) {
            fs::remove_file(&existing)
                .with_context(|| format!("cannot remove {}", existing.display()))?;
        }
    }
    for (relative, bytes) in files {
        write_if_changed(&dir.join(relative), bytes)?;
    }
    Ok(())
}

/// A kata crate's files: the kata's manifest renamed to `package`, its tests, and `lib_rs`.
pub fn kata_crate(kata: &Kata, package: &str, lib_rs: &[u8]) -> Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut files = BTreeMap::new();
    files.insert(
        PathBuf::from("Cargo.toml"),
        renamed_manifest(kata, package)?.into_bytes(),
    );
    files.insert(PathBuf::from("src/lib.rs"), lib_rs.to_vec());
    let tests = kata.exercise_dir.join("tests");
    for file in walk(&tests)? {
        let relative = Path::new("tests").join(file.strip_prefix(&tests).expect("walked inside"));
        let bytes = fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        files.insert(relative, bytes);
    }
    Ok(files)
}
