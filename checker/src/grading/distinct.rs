//! Identical submissions are graded once. Many students hand in byte-identical sources for a
//! kata (the untouched handout, the common one-line fix); each distinct (kata, sources) pair is
//! built and tested once, keyed by a sha256 of the files laid out for it, and every later
//! identical submission takes that result instead of a build and a run. The similarity report
//! still sees every submission: it reads the students' folders, not the grading workspace.

use super::tree::StudentTree;
use crate::events::{CrateReport, TestStatus};
use crate::snapshots::walk;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A kata and a digest of the sources laid out for it.
type Key = (usize, [u8; 32]);

/// The results of the distinct sources graded so far in one run.
#[derive(Default)]
pub struct Known {
    graded: HashMap<Key, Graded>,
    /// The crates of the student being graded whose results will be worth keeping.
    pending: Vec<(Key, usize)>,
    /// That student's workspace and build output, named in their reports.
    current: Option<(PathBuf, PathBuf)>,
}

struct Graded {
    report: CrateReport,
    root: PathBuf,
    target: PathBuf,
}

impl Known {
    /// Takes the crates of `tree` whose sources were graded before out of it (and out of the
    /// workspace, whose members are a glob), and returns their results, as `tree`'s own.
    pub fn reuse(&mut self, tree: &mut StudentTree) -> Result<Vec<(usize, CrateReport)>> {
        self.pending.clear();
        self.current = Some((tree.root.clone(), tree.target.clone()));
        let mut reused = Vec::new();
        let mut kept = Vec::new();
        for krate in std::mem::take(&mut tree.crates) {
            let key = (krate.kata, sources_digest(&krate.dir.join("src"))?);
            match self.graded.get(&key) {
                Some(graded) => {
                    reused.push((krate.kata, graded.as_in(tree)));
                    std::fs::remove_dir_all(&krate.dir)
                        .with_context(|| format!("cannot remove {}", krate.dir.display()))?;
                }
                None => {
                    self.pending.push((key, krate.kata));
                    kept.push(krate);
                }
            }
        }
        tree.crates = kept;
        Ok(reused)
    }

    /// Keeps the results of the crates just graded, for identical sources still to come. A
    /// report with a test that timed out is never kept: a timeout may say more about the
    /// machine's load at that moment (or the student's time used up on other katas) than about
    /// the sources, so each identical submission that comes later runs its own tests.
    pub fn remember(&mut self, reports: &[(usize, CrateReport)]) {
        let Some((root, target)) = self.current.take() else {
            return;
        };
        for (key, kata) in self.pending.drain(..) {
            let Some((_, report)) = reports.iter().find(|(k, _)| *k == kata) else {
                continue;
            };
            let timed_out = report
                .tests
                .iter()
                .any(|t| t.status == TestStatus::TimedOut);
            if !timed_out {
                self.graded.insert(
                    key,
                    Graded {
                        report: report.clone(),
                        root: root.clone(),
                        target: target.clone(),
                    },
                );
            }
        }
    }
}

impl Graded {
    /// The report, with the workspace and build output it names made `tree`'s, so no student
    /// reads another's paths.
    fn as_in(&self, tree: &StudentTree) -> CrateReport {
        let swaps = [
            (shown(&self.root), shown(&tree.root)),
            (shown(&self.target), shown(&tree.target)),
        ];
        let swap = |text: &str| {
            swaps
                .iter()
                .fold(text.to_string(), |text, (a, b)| text.replace(a.as_str(), b))
        };
        let mut report = self.report.clone();
        report.diagnostics = report.diagnostics.as_deref().map(swap);
        for test in &mut report.tests {
            test.message = test.message.as_deref().map(swap);
            test.output = swap(&test.output);
        }
        for lint in &mut report.lints {
            lint.findings = swap(&lint.findings);
        }
        report
    }
}

fn shown(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A digest of every file under `src`: relative paths and contents, in path order.
fn sources_digest(src: &Path) -> Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    for file in walk(src)? {
        let relative = file.strip_prefix(src).unwrap_or(&file);
        let bytes =
            std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        // Lengths keep the boundaries: ("ab", "c") and ("a", "bc") hash differently.
        let name = relative.to_string_lossy();
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(hasher.finalize().into())
}
