//! `solution`: the reference solution as a diff against the learner's code. Before the kata
//! passes, it asks first and records that the solution was revealed.

use super::Workspace;
use crate::exit;
use crate::kata::Kata;
use crate::snapshots::walk;
use anyhow::{bail, Result};
use colored::Colorize;
use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn solution(workspace: &Workspace, name: Option<&str>, yes: bool) -> Result<ExitCode> {
    let kata = workspace.kata(name)?;
    let passed = workspace.store.load()?.kata(&kata.name).status().is_done();
    if !passed && !yes && !confirmed(kata)? {
        println!("Not revealed. `cargo kata hint` may be enough.");
        return Ok(exit::SUCCESS.into());
    }
    if !passed {
        workspace
            .store
            .update(|p| p.kata_mut(&kata.name).solution_revealed = true)?;
    }
    let diff = diff_sources(kata)?;
    if diff.is_empty() {
        println!("Your code is the same as the reference solution.");
    }
    for line in diff.lines() {
        println!("{}", color_line(line));
    }
    Ok(exit::SUCCESS.into())
}

fn confirmed(kata: &Kata) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "{} has not passed yet; add --yes to reveal its solution without a terminal to confirm",
            kata.name
        );
    }
    print!("{} has not passed yet. Reveal the reference solution? It is recorded in your progress. [y/N] ", kata.name);
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
        let old = std::fs::read_to_string(mine.join(&file)).unwrap_or_default();
        let new = std::fs::read_to_string(theirs.join(&file)).unwrap_or_default();
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
