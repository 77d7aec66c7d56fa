//! `solution`: the reference solution as a diff against the learner's code. Before the kata
//! passes, it asks first and records that the solution was revealed.

use super::Workspace;
use crate::exit;
use crate::kata::Kata;
use crate::snapshots::walk;
use crate::style;
use anyhow::{bail, Context, Result};
use colored::Colorize;
use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn solution(workspace: &Workspace, name: Option<&str>, yes: bool) -> Result<ExitCode> {
    let kata = workspace.kata(name)?;
    let passed = workspace.store.load()?.kata(&kata.name).status().is_done();
    if !passed && !yes && !confirmed(kata)? {
        outln!("Not revealed. `cargo kata hint` may be enough.");
        return Ok(exit::SUCCESS.into());
    }
    if !passed {
        workspace
            .store
            .update(|p| p.kata_mut(&kata.name).solution_revealed = true)?;
    }
    let diff = diff_sources(kata)?;
    if diff.is_empty() {
        outln!("Your code is the same as the reference solution.");
    }
    for line in diff.lines() {
        outln!("{}", color_line(line));
    }
    show_notes(kata)?;
    Ok(exit::SUCCESS.into())
}

/// The author's notes: the property the tests check, the other fixes that pass and the tempting
/// ones that fail. Worth reading once you have a fix of your own, which is why they live with
/// the solution and not in the kata's README.
fn show_notes(kata: &Kata) -> Result<()> {
    let path = kata.solution_dir.join("NOTES.md");
    match std::fs::read_to_string(&path) {
        Ok(notes) => {
            outln!("\n{}\n", format!("Notes on {}", kata.name).bold());
            outln!("{}", notes.trim_end());
            Ok(())
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn confirmed(kata: &Kata) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "{} has not passed yet; add --yes to reveal its solution without a terminal to confirm",
            kata.name
        );
    }
    out!("{} has not passed yet. Reveal the reference solution? It is recorded in your progress. [y/N] ", kata.name);
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// A unified diff from the learner's `src/` to the solution's, file by file.
pub fn diff_sources(kata: &Kata) -> Result<String> {
    let (mine, theirs) = (kata.exercise_dir.join("src"), kata.solution_dir.join("src"));
    let files: BTreeSet<PathBuf> = relative(&mine)?
        .into_iter()
        .chain(relative(&theirs)?)
        .collect();
    let mut out = String::new();
    for file in files {
        let old = source_text(&mine.join(&file))?;
        let new = source_text(&theirs.join(&file))?;
        if old == new {
            continue;
        }
        let (a, b) = (
            format!("exercises/{}/src/{}", kata.name, file.display()),
            format!("solutions/{}/src/{}", kata.name, file.display()),
        );
        let diff = similar::TextDiff::from_lines(&old, &new);
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&a, &b)
                .to_string(),
        );
    }
    Ok(out)
}

/// A source file's text for the diff: empty when it does not exist. Bytes that are not UTF-8
/// are shown as the replacement character (with a warning), never taken for an empty file.
fn source_text(path: &Path) -> Result<String> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(String::from_utf8(bytes).unwrap_or_else(|err| {
            let at = err.utf8_error().valid_up_to();
            style::warning(&format!(
                "{} is not valid UTF-8 (at byte {at}); the diff shows the bad bytes as U+FFFD (�)",
                path.display()
            ));
            String::from_utf8_lossy(err.as_bytes()).into_owned()
        })),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn relative(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(walk(dir)?
        .into_iter()
        .filter_map(|p| p.strip_prefix(dir).ok().map(Path::to_path_buf))
        .collect())
}

fn color_line(line: &str) -> colored::ColoredString {
    if line.starts_with("+++") || line.starts_with("---") {
        line.bold()
    } else if line.starts_with('+') {
        line.green()
    } else if line.starts_with('-') {
        line.red()
    } else if line.starts_with("@@") {
        line.cyan()
    } else {
        line.normal()
    }
}
