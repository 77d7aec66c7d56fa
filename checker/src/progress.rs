//! The learner's progress: one versioned JSON file in `.kata/`, changed under a lock and written
//! atomically (temporary file, then rename), so concurrent commands never corrupt it.

use crate::events::{CrateReport, Outcome};
use crate::repo::Repo;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The version of the progress file this checker writes and reads.
pub const VERSION: u32 = 1;
const FILE: &str = "progress.json";

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Progress {
    pub version: u32,
    /// The kata `watch` and `run` work on when none is named.
    pub current: Option<String>,
    #[serde(default)]
    pub katas: BTreeMap<String, KataProgress>,
    /// Grows whenever any kata's record changes: the room orders a learner's reports by it.
    #[serde(default)]
    pub revision: u64,
    /// The workshop room this learner reports to, if they joined one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomMembership>,
}

/// What `join` remembers, and how far the background sync has got.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoomMembership {
    pub url: String,
    pub code: String,
    pub name: String,
    pub learner: String,
    pub token: String,
    /// The newest `revision` the room has acknowledged.
    #[serde(default)]
    pub sent_revision: u64,
    /// The instructor's pacing as last heard from the room.
    #[serde(default)]
    pub pacing: Pacing,
    /// Unix seconds of the last answer from the room.
    #[serde(default)]
    pub heard_at: Option<u64>,
    /// Why the last attempt to reach the room failed; cleared by the next success.
    #[serde(default)]
    pub last_error: Option<String>,
}

impl RoomMembership {
    pub fn has_unsent(&self, progress_revision: u64) -> bool {
        self.sent_revision < progress_revision
    }
}

/// How far the instructor has opened the course, as last heard from the room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pacing {
    /// Katas whose `order` is above this are locked; None opens every kata.
    pub unlocked_through: Option<u32>,
}

impl Pacing {
    pub fn is_locked(&self, order: u32) -> bool {
        self.unlocked_through.is_some_and(|last| order > last)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct KataProgress {
    pub attempts: u32,
    pub hints_shown: usize,
    /// The solution was revealed before the kata first passed.
    pub solution_revealed: bool,
    /// The outcome of the latest run.
    pub last_outcome: Option<Outcome>,
    pub points: u32,
    pub max_points: u32,
    /// Unix seconds of the first run that passed.
    pub first_passed_at: Option<u64>,
    pub last_run_at: Option<u64>,
    /// The one line that says why the latest run failed, for the workshop room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
    /// The learner moved on (`n` in watch) before it passed; the next run of it clears this.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    NotStarted,
    Failing,
    Passed,
    PassedAfterSolution,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::NotStarted => "not started",
            Status::Failing => "failing",
            Status::Passed => "passed",
            Status::PassedAfterSolution => "passed (solution seen)",
        }
    }

    pub fn is_done(self) -> bool {
        matches!(self, Status::Passed | Status::PassedAfterSolution)
    }
}

impl KataProgress {
    pub fn status(&self) -> Status {
        match self.last_outcome {
            None => Status::NotStarted,
            Some(Outcome::Passed) if self.solution_revealed => Status::PassedAfterSolution,
            Some(Outcome::Passed) => Status::Passed,
            Some(_) => Status::Failing,
        }
    }

    pub fn record(&mut self, report: &CrateReport) {
        let now = unix_now();
        self.skipped = false;
        self.attempts += 1;
        self.last_outcome = Some(report.outcome);
        self.points = report.points;
        self.max_points = report.max_points;
        self.last_run_at = Some(now);
        self.last_failure = report.headline();
        if report.passed() && self.first_passed_at.is_none() {
            self.first_passed_at = Some(now);
        }
    }
}

impl Progress {
    pub fn kata(&self, name: &str) -> KataProgress {
        self.katas.get(name).cloned().unwrap_or_default()
    }

    pub fn kata_mut(&mut self, name: &str) -> &mut KataProgress {
        self.katas.entry(name.to_string()).or_default()
    }

    /// Whether the workshop room's instructor has not opened the kata numbered `order` yet.
    pub fn is_locked(&self, order: u32) -> bool {
        self.room
            .as_ref()
            .is_some_and(|room| room.pacing.is_locked(order))
    }
}

/// Replaces `path` with `bytes`, whole or not at all: written to `tmp` (beside it, on the same
/// filesystem) and flushed to the disk, then renamed over `path`, and the rename flushed too.
/// A writer killed on the way leaves `path` as it was, never half written; `tmp` is removed
/// when the write fails.
pub fn replace_file(path: &Path, tmp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let written = File::create(tmp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| fs::rename(tmp, path));
    if let Err(err) = written {
        let _ = fs::remove_file(tmp);
        return Err(err);
    }
    // The rename is the folder's change: flushed with it (where a folder can be opened).
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Reads and changes the progress file of one repository.
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(repo: &Repo) -> Store {
        Store {
            dir: repo.state_dir(),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// The current progress; an empty one when there is no file yet.
    pub fn load(&self) -> Result<Progress> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let _lock = self.lock()?;
        self.read()
    }

    /// Applies `change` to the progress under an exclusive lock and saves it atomically.
    pub fn update<T>(&self, change: impl FnOnce(&mut Progress) -> T) -> Result<T> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let _lock = self.lock()?;
        let mut progress = self.read()?;
        let before = progress.katas.clone();
        let value = change(&mut progress);
        if progress.katas != before {
            progress.revision += 1;
        }
        self.write(&progress)?;
        Ok(value)
    }

    fn lock(&self) -> Result<File> {
        let path = self.dir.join("progress.lock");
        let file =
            File::create(&path).with_context(|| format!("cannot open {}", path.display()))?;
        file.lock()
            .with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(file)
    }

    fn read(&self) -> Result<Progress> {
        let path = self.path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Progress {
                    version: VERSION,
                    ..Progress::default()
                })
            }
            Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
        };
        let value: serde_json::Value = match serde_json::from_str(&text) {
            Ok(value) => value,
            Err(err) => return Err(self.set_aside(&path, &err.to_string())),
        };
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) => bail!(
                "{} has version {v}, but this checker reads version {VERSION}: \
                 update the checker (git pull) or move the file away to start afresh",
                path.display()
            ),
            None => return Err(self.set_aside(&path, "it has no version")),
        }
        serde_json::from_value(value).map_err(|err| self.set_aside(&path, &err.to_string()))
    }

    /// Moves a corrupt file out of the way, keeping it, and explains.
    fn set_aside(&self, path: &Path, why: &str) -> anyhow::Error {
        // Under the lock, so no other checker picks the same name; never overwrite an older one.
        let stamp = unix_now();
        let free = (1..1000)
            .map(|n| match n {
                1 => self.dir.join(format!("{FILE}.corrupt-{stamp}")),
                n => self.dir.join(format!("{FILE}.corrupt-{stamp}-{n}")),
            })
            .find(|p| !p.exists());
        let moved = free
            .ok_or_else(|| std::io::Error::other("every name for the copy is taken"))
            .and_then(|kept| fs::rename(path, &kept).map(|()| kept));
        match moved {
            Ok(kept) => anyhow::anyhow!(
                "the progress file {} was unreadable ({why}); it was kept as {} and the next command starts afresh",
                path.display(),
                kept.display()
            ),
            Err(err) => anyhow::anyhow!(
                "the progress file {} is unreadable ({why}) and could not be moved aside ({err})",
                path.display()
            ),
        }
    }

    fn write(&self, progress: &Progress) -> Result<()> {
        let path = self.path();
        self.remove_stale_temporaries();
        let tmp = self.dir.join(format!("{FILE}.tmp-{}", std::process::id()));
        let mut json = serde_json::to_vec_pretty(progress)?;
        json.push(b'\n');
        replace_file(&path, &tmp, &json).map_err(|err| {
            anyhow::anyhow!(
                "cannot save your progress to {} ({err}): this change was not recorded, and the \
                 file still holds what it held before",
                path.display()
            )
        })
    }

    /// Temporary files of writers that were killed mid-write. Called under the lock, so no
    /// writer is using one.
    fn remove_stale_temporaries(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let prefix = format!("{FILE}.tmp-");
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::replace_file;

    #[test]
    fn a_file_is_replaced_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        let tmp = dir.path().join(".results.json.tmp");
        replace_file(&path, &tmp, b"first").unwrap();
        replace_file(&path, &tmp, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert!(!tmp.exists(), "no temporary file is left");
        // A write that cannot finish leaves the file as it was.
        let nowhere = dir.path().join("missing").join("tmp");
        assert!(replace_file(&path, &nowhere, b"third").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
    }
}
