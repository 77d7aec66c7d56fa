//! Identical submissions are graded once. Many students hand in byte-identical sources for a
//! kata (the untouched handout, the common one-line fix); each distinct (kata, sources) pair is
//! built and tested once, keyed by a sha256 of its files, and every identical submission gets
//! that result. The similarity report still sees every submission: it reads the students'
//! folders, not the grading workspace.

use super::tree::Entry;
use crate::events::CrateReport;
use crate::snapshots::walk;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

/// Which entries of the grading workspace are built and tested, and whose result each takes.
pub struct Same {
    /// The entries graded, in workspace order: the first of each set of identical ones.
    pub graded: Vec<usize>,
    /// For every entry, the entry whose result it takes (itself when it is graded).
    pub graded_as: Vec<usize>,
}

/// Groups the laid-out entries by kata and sources, and removes the crates of all but the first
/// of each group from the workspace (its members are a glob), so cargo neither loads nor builds
/// them.
pub fn group(work: &Path, entries: &[Entry]) -> Result<Same> {
    let mut first: HashMap<(usize, [u8; 32]), usize> = HashMap::new();
    let mut same = Same {
        graded: Vec::new(),
        graded_as: Vec::with_capacity(entries.len()),
    };
    for (index, entry) in entries.iter().enumerate() {
        let key = (entry.kata, sources_digest(&entry.dir.join("src"))?);
        match first.get(&key) {
            Some(&earlier) => {
                same.graded_as.push(earlier);
                std::fs::remove_dir_all(&entry.dir).with_context(|| {
                    format!(
                        "cannot remove {} from {}",
                        entry.dir.display(),
                        work.display()
                    )
                })?;
            }
            None => {
                first.insert(key, index);
                same.graded_as.push(index);
                same.graded.push(index);
            }
        }
    }
    Ok(same)
}

/// A digest of every file under `src`: relative paths and contents, in path order.
fn sources_digest(src: &Path) -> Result<[u8; 32]> {
    let mut files = walk(src)?;
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
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

/// `report`, made for `from`'s crate, as `to`'s: the folder and package it names are `to`'s.
pub fn as_entry(report: &CrateReport, work: &Path, from: &Entry, to: &Entry) -> CrateReport {
    let relative = |e: &Entry| {
        e.dir
            .strip_prefix(work)
            .unwrap_or(&e.dir)
            .to_string_lossy()
            .into_owned()
    };
    let swaps = [
        (
            from.dir.to_string_lossy().into_owned(),
            to.dir.to_string_lossy().into_owned(),
        ),
        (relative(from), relative(to)),
        (from.package.clone(), to.package.clone()),
    ];
    let swap = |text: &str| {
        swaps
            .iter()
            .fold(text.to_string(), |text, (a, b)| text.replace(a.as_str(), b))
    };
    let mut report = report.clone();
    report.package = to.package.clone();
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
