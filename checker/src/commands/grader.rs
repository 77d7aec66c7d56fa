//! `grade` and `merge-grades` in the learner's checker: they are the instructor's, and live in the
//! `kata-grade` build of the checker (the same source with grading in it), which this runs through
//! cargo with the same arguments. Cargo builds it the first time.

use crate::cargo;
use crate::repo::Repo;
use anyhow::{Context, Result};
use std::process::{Command, ExitCode};

pub fn run(repo: &Repo) -> Result<ExitCode> {
    let mut cmd = Command::new(cargo::program()?);
    cmd.args([
        "run",
        "--quiet",
        "--package",
        "checker",
        "--features",
        "grading",
        "--bin",
        "kata-grade",
        "--",
    ])
    .args(std::env::args_os().skip(1))
    .current_dir(&repo.root);
    eprintln!("Building the grader if needed (the first time takes a minute)...");
    let status = cmd
        .status()
        .context("cannot start cargo to run the grader (kata-grade)")?;
    Ok(ExitCode::from(
        status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(1),
    ))
}
