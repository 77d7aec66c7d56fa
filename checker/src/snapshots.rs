//! The kata files as they were shipped, and backups of the learner's code.
//!
//! The first time the checker sees a kata it keeps a snapshot of its sources, tests and manifest
//! in `.kata/originals/` (from git's last commit when the kata is tracked, so edits made before
//! that first run do not count as original). `reset` restores `src/` from there (see backups).

use crate::backups::{read_tree, Tree};
use crate::kata::Kata;
use crate::repo::Repo;
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What is kept of each kata, relative to its folder.
const KEPT: [&str; 3] = ["src", "tests", "Cargo.toml"];
/// The files a learner must not need to edit; edits to them are pointed out.
const PROTECTED: [&str; 2] = ["tests", "Cargo.toml"];
/// Inside a snapshot: the git id of the tests it was taken from.
const SOURCE_STAMP: &str = ".source";

#[derive(Clone)]
pub struct Snapshots {
    repo: Repo,
}

impl Snapshots {
    pub fn new(repo: &Repo) -> Snapshots {
        Snapshots { repo: repo.clone() }
    }

    fn original_dir(&self, kata: &Kata) -> PathBuf {
        self.repo.state_dir().join("originals").join(&kata.name)
    }

    /// Takes the snapshot of every kata that has none yet, or whose tests changed in git since
    /// (the course was updated: a learner does not commit changes to tests).
    pub fn ensure(&self, katas: &[Kata]) -> Result<()> {
        let committed = self.committed_test_trees();
        for kata in katas {
            let dir = self.original_dir(kata);
            let source = committed.get(&kata.name).map_or("", String::as_str);
            let stamp = dir.join(SOURCE_STAMP);
            let current = dir.exists()
                && (source.is_empty() || fs::read_to_string(&stamp).is_ok_and(|s| s == source));
            if current {
                continue;
            }
            let staging = dir.with_extension(format!("tmp-{}", std::process::id()));
            let _ = fs::remove_dir_all(&staging);
            for (relative, bytes) in self.shipped_files(kata)? {
                let target = staging.join(&relative);
                fs::create_dir_all(target.parent().expect("a file has a parent"))?;
                fs::write(&target, bytes)
                    .with_context(|| format!("cannot write {}", target.display()))?;
            }
            fs::write(staging.join(SOURCE_STAMP), source)?;
            // Snapshots are the checker's own copies, never the learner's work: replacing is safe.
            let _ = fs::remove_dir_all(&dir);
            // Another checker may have won the race; its snapshot is as good as ours.
            if fs::rename(&staging, &dir).is_err() {
                let _ = fs::remove_dir_all(&staging);
            }
        }
        Ok(())
    }

    /// The git tree id of each kata's committed `tests/`, from one git call.
    fn committed_test_trees(&self) -> HashMap<String, String> {
        let listing = git(
            &self.repo.root,
            &["ls-tree", "-r", "-d", "-z", "HEAD", "--", "exercises/"],
        )
        .unwrap_or_default();
        let mut trees = HashMap::new();
        for entry in listing.split(|&b| b == 0) {
            let entry = String::from_utf8_lossy(entry);
            let Some((info, path)) = entry.split_once('\t') else {
                continue;
            };
            let kata = path
                .strip_prefix("exercises/")
                .and_then(|p| p.strip_suffix("/tests"));
            if let (Some(kata), Some(id)) = (kata, info.split_whitespace().nth(2)) {
                trees.insert(kata.to_string(), id.to_string());
            }
        }
        trees
    }

    /// The kata's files as committed in git, or as on disk when git does not know them.
    fn shipped_files(&self, kata: &Kata) -> Result<Vec<(PathBuf, Vec<u8>)>> {
        if let Some(files) = self.committed_files(kata) {
            return Ok(files);
        }
        let mut files = Vec::new();
        for entry in KEPT {
            for relative in relative_files(&kata.exercise_dir, entry) {
                let bytes = fs::read(kata.exercise_dir.join(&relative))?;
                files.push((relative, bytes));
            }
        }
        Ok(files)
    }

    fn committed_files(&self, kata: &Kata) -> Option<Vec<(PathBuf, Vec<u8>)>> {
        let folder = format!("exercises/{}/", kata.name);
        let listing = git(
            &self.repo.root,
            &["ls-tree", "-r", "-z", "HEAD", "--", &folder],
        )?;
        let mut files = Vec::new();
        for entry in listing.split(|&b| b == 0).filter(|e| !e.is_empty()) {
            let entry = String::from_utf8_lossy(entry);
            let (info, path) = entry.split_once('\t')?;
            let relative = path.strip_prefix(&folder)?;
            if !KEPT
                .iter()
                .any(|k| relative == *k || relative.starts_with(&format!("{k}/")))
            {
                continue;
            }
            let object = info.split_whitespace().nth(2)?;
            files.push((
                PathBuf::from(relative),
                git(&self.repo.root, &["cat-file", "blob", object])?,
            ));
        }
        (!files.is_empty()).then_some(files)
    }

    /// Protected files (tests, manifest) that differ from the shipped ones.
    pub fn edited_protected_files(&self, kata: &Kata) -> Vec<String> {
        let original = self.original_dir(kata);
        if !original.exists() {
            return Vec::new();
        }
        let mut relatives = Vec::new();
        for entry in PROTECTED {
            relatives.extend(relative_files(&kata.exercise_dir, entry));
            relatives.extend(relative_files(&original, entry));
        }
        relatives.sort();
        relatives.dedup();
        relatives
            .into_iter()
            .filter(|rel| {
                fs::read(kata.exercise_dir.join(rel)).ok() != fs::read(original.join(rel)).ok()
            })
            .map(|rel| format!("exercises/{}/{}", kata.name, rel.display()))
            .collect()
    }

    /// The kata's `src/` as shipped.
    pub fn original_src(&self, kata: &Kata) -> Result<Tree> {
        let original = self.original_dir(kata).join("src");
        if !original.is_dir() {
            bail!(
                "no snapshot of the original {} exists, so it cannot be reset",
                kata.name
            );
        }
        read_tree(&original)
    }
}

fn git(root: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output.status.success().then_some(output.stdout)
}

/// Every regular file under `path` (or `path` itself when it is one), sorted. Symbolic links are
/// never followed, so a link to `.` cannot send it round for ever, and one to elsewhere is not
/// taken for a file of the tree.
pub fn walk(path: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let Ok(kind) = fs::symlink_metadata(path).map(|m| m.file_type()) else {
        return Ok(files);
    };
    if kind.is_file() {
        files.push(path.to_path_buf());
    } else if kind.is_dir() {
        for entry in fs::read_dir(path)? {
            files.extend(walk(&entry?.path())?);
        }
    }
    files.sort();
    Ok(files)
}

/// The files under `base/entry`, relative to `base`.
fn relative_files(base: &Path, entry: &str) -> Vec<PathBuf> {
    let files = walk(&base.join(entry)).unwrap_or_default();
    files
        .into_iter()
        .filter_map(|p| p.strip_prefix(base).ok().map(Path::to_path_buf))
        .collect()
}
