//! The learner's code, kept: `reset` puts a kata's original `src/` back and keeps what it replaced
//! in `.kata/backups/<kata>/<stamp>-<n>/src/`; `reset --undo` brings the learner's newest code
//! back. Nothing a learner wrote is ever deleted.
//!
//! Every step that can fail (a full disk, a folder that cannot be written) happens before the
//! learner's files are touched: the backup and the new `src/` are written first, and only then are
//! the two folders swapped, by renames. When anything fails the learner's files are as they were,
//! and the error names the path.

use crate::kata::Kata;
use crate::progress::unix_now;
use crate::repo::Repo;
use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The files of a `src/` folder: relative path to contents.
pub type Tree = BTreeMap<PathBuf, Vec<u8>>;

/// One kept copy of a learner's `src/`.
pub struct Backup {
    pub dir: PathBuf,
    /// Unix seconds when it was taken.
    pub taken_at: u64,
    pub files: Tree,
}

/// What a reset or an undo did.
pub enum Outcome {
    /// `src/` was replaced; what it held is kept in `kept` (None when it was already kept, or was
    /// the original).
    Replaced { kept: Option<PathBuf> },
    /// Nothing to do: `src/` already holds what was asked for.
    Unchanged,
}

pub struct Backups {
    repo: Repo,
}

impl Backups {
    pub fn new(repo: &Repo) -> Backups {
        Backups { repo: repo.clone() }
    }

    fn dir(&self, kata: &Kata) -> PathBuf {
        self.repo.state_dir().join("backups").join(&kata.name)
    }

    /// Every backup of `kata`, newest first. A folder that cannot be read is an error naming it.
    pub fn list(&self, kata: &Kata) -> Result<Vec<Backup>> {
        let dir = self.dir(kata);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(err).with_context(|| format!("cannot read {}", dir.display())),
        };
        let mut backups = Vec::new();
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // A backup being written has `.partial` in its name; one without a stamp is not ours.
            let Some(taken_at) = name.split('-').next().and_then(|s| s.parse().ok()) else {
                continue;
            };
            if name.ends_with(".partial") {
                continue;
            }
            let files = read_tree(&entry.path().join("src"))?;
            backups.push(Backup {
                dir: entry.path(),
                taken_at,
                files,
            });
        }
        backups.sort_by(|a, b| b.dir.cmp(&a.dir));
        Ok(backups)
    }

    /// Puts `original` in place of the learner's `src/`, keeping the learner's code first.
    pub fn reset(&self, kata: &Kata, original: &Tree) -> Result<Outcome> {
        let current = read_tree(&src_dir(kata))?;
        if &current == original {
            return Ok(Outcome::Unchanged);
        }
        let kept = self.keep(kata, &current, original)?;
        replace_src(&self.repo, kata, original, kept.as_deref())?;
        Ok(Outcome::Replaced { kept })
    }

    /// Brings back backup `pick` (1 is the newest, as `list` numbers them), or by default the
    /// newest backup that holds the learner's own code: neither the original nor what `src/`
    /// holds now. What `src/` holds is kept first, unless it is the original or already kept.
    pub fn undo(
        &self,
        kata: &Kata,
        original: &Tree,
        pick: Option<usize>,
    ) -> Result<(Backup, Outcome)> {
        let current = read_tree(&src_dir(kata))?;
        let mut backups = self.list(kata)?;
        let index = match pick {
            Some(n) if n >= 1 && n <= backups.len() => n - 1,
            Some(n) => bail!(
                "{} has {} backup(s); there is no number {n} (`cargo kata reset {} --list` shows them)",
                kata.name,
                backups.len(),
                kata.name
            ),
            None => backups
                .iter()
                .position(|b| &b.files != original && b.files != current)
                .ok_or_else(|| {
                    anyhow!(
                        "{} has no backup of your own code to bring back: every backup is the original or what src/ holds now",
                        kata.name
                    )
                })?,
        };
        let chosen = backups.swap_remove(index);
        if chosen.files == current {
            return Ok((chosen, Outcome::Unchanged));
        }
        let kept = self.keep(kata, &current, original)?;
        replace_src(&self.repo, kata, &chosen.files, kept.as_deref())?;
        Ok((chosen, Outcome::Replaced { kept }))
    }

    /// Keeps `current` as a new backup, unless it is the original or an existing backup already
    /// holds exactly it. Returns the new backup's folder.
    fn keep(&self, kata: &Kata, current: &Tree, original: &Tree) -> Result<Option<PathBuf>> {
        if current == original || current.is_empty() {
            return Ok(None);
        }
        if self.list(kata)?.iter().any(|b| &b.files == current) {
            return Ok(None);
        }
        let dir = self.dir(kata);
        fs::create_dir_all(&dir).with_context(|| {
            format!(
                "cannot create {} to keep your code in; nothing was changed",
                dir.display()
            )
        })?;
        let stamp = unix_now();
        let (partial, done) = free_slot(&dir, stamp)?;
        let written = write_tree(&partial.join("src"), current).and_then(|()| {
            fs::rename(&partial, &done).with_context(|| {
                format!("cannot rename {} to {}", partial.display(), done.display())
            })
        });
        if let Err(err) = written {
            let _ = fs::remove_dir_all(&partial);
            return Err(err.context(format!(
                "cannot keep a backup of your code in {}; nothing was changed: your code is still in {}",
                dir.display(),
                src_dir(kata).display()
            )));
        }
        Ok(Some(done))
    }
}

fn src_dir(kata: &Kata) -> PathBuf {
    kata.exercise_dir.join("src")
}

/// A new backup's folder while it is written, and its name once complete. Taken by creating the
/// partial folder, so two resets at once never share one; any error but "taken" ends the search.
fn free_slot(dir: &Path, stamp: u64) -> Result<(PathBuf, PathBuf)> {
    for n in 0..1000 {
        let done = dir.join(format!("{stamp}-{n:03}"));
        let partial = dir.join(format!("{stamp}-{n:03}.partial"));
        if done.exists() {
            continue;
        }
        match fs::create_dir(&partial) {
            Ok(()) => return Ok((partial, done)),
            Err(err) if err.kind() == ErrorKind::AlreadyExists => continue,
            Err(err) => {
                return Err(err).with_context(|| {
                    format!(
                        "cannot create {} to keep your code in; nothing was changed",
                        partial.display()
                    )
                })
            }
        }
    }
    bail!(
        "{} holds 1000 backups from this second; nothing was changed",
        dir.display()
    )
}

/// Swaps `tree` in as the kata's `src/`: written to a staging folder first, then two renames.
fn replace_src(repo: &Repo, kata: &Kata, tree: &Tree, kept: Option<&Path>) -> Result<()> {
    let src = src_dir(kata);
    let staging_root = repo.state_dir().join("staging");
    let staging = staging_root.join(format!("{}-{}", kata.name, std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let where_kept = kept
        .map(|k| format!(" (a copy of it is also in {})", k.display()))
        .unwrap_or_default();
    let untouched = || {
        format!(
            "nothing was changed: your code is still in {}{where_kept}",
            src.display()
        )
    };
    if let Err(err) = write_tree(&staging.join("new"), tree) {
        let _ = fs::remove_dir_all(&staging);
        return Err(err.context(untouched()));
    }
    let old = staging.join("old");
    if src.exists() {
        if let Err(err) = fs::rename(&src, &old) {
            let _ = fs::remove_dir_all(&staging);
            return Err(anyhow!(err)
                .context(format!("cannot move {} aside", src.display()))
                .context(untouched()));
        }
    }
    if let Err(err) = fs::rename(staging.join("new"), &src) {
        // Put the learner's folder back where it was.
        let restored = !old.exists() || fs::rename(&old, &src).is_ok();
        let err = anyhow!(err).context(format!("cannot move the new code into {}", src.display()));
        return Err(if restored {
            err.context(untouched())
        } else {
            err.context(format!(
                "your code was moved to {} and could not be moved back: move it to {} yourself",
                old.display(),
                src.display()
            ))
        });
    }
    // The old folder is kept in a backup (or was the original): only now is it safe to go.
    let _ = fs::remove_dir_all(&staging);
    Ok(())
}

/// Every file under `dir` (none when it does not exist). A symlink is read as what it points to.
pub fn read_tree(dir: &Path) -> Result<Tree> {
    let mut tree = Tree::new();
    if !dir.exists() {
        return Ok(tree);
    }
    read_into(dir, dir, &mut tree, 0)?;
    Ok(tree)
}

fn read_into(root: &Path, dir: &Path, tree: &mut Tree, depth: usize) -> Result<()> {
    if depth > 32 {
        bail!("{} is nested too deeply (a symlink loop?)", dir.display());
    }
    let entries = fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot read {}", dir.display()))?
            .path();
        if path.is_dir() {
            read_into(root, &path, tree, depth + 1)?;
        } else {
            let bytes =
                fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let relative = path.strip_prefix(root).expect("read inside").to_path_buf();
            tree.insert(relative, bytes);
        }
    }
    Ok(())
}

fn write_tree(dir: &Path, tree: &Tree) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (relative, bytes) in tree {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
