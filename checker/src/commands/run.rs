//! `run`: build and test one kata, show each test's outcome, record the attempt.

use super::{until_interrupted, Workspace};
use crate::events::{CrateReport, Reporter, Silent};
use crate::kata::Kata;
use crate::report::{json, terminal};
use crate::runner::{self, Check, Options};
use crate::{exit, style};
use anyhow::Result;
use serde::Serialize;
use std::process::ExitCode;

#[derive(Serialize)]
struct RunOutput<'a> {
    #[serde(flatten)]
    report: &'a CrateReport,
    /// Tests or manifest edited since the kata was shipped; grading uses the originals.
    edited_files: Vec<String>,
}

pub fn run(workspace: &Workspace, name: Option<&str>, as_json: bool) -> Result<ExitCode> {
    let kata = workspace.kata(name)?;
    if workspace.store.load()?.is_locked(kata.meta.order) {
        style::warning(&format!(
            "the instructor has not opened {} yet; you may try it, but the room is not there yet",
            kata.name
        ));
    }
    if as_json {
        let report = until_interrupted(check_exercise(workspace, kata, false, &mut Silent))?;
        let edited_files = workspace.snapshots()?.edited_protected_files(kata);
        json::print(&RunOutput {
            report: &report,
            edited_files,
        })?;
        return Ok(exit::from_passed(report.passed()));
    }
    terminal::header(kata);
    let report = until_interrupted(check_exercise(
        workspace,
        kata,
        style::color_enabled(),
        &mut terminal::Terminal::new(),
    ))?;
    warn_about_edits(workspace, kata)?;
    Ok(exit::from_passed(report.passed()))
}

/// Checks the learner's code of one kata and records the attempt in the progress file.
pub async fn check_exercise(
    workspace: &Workspace,
    kata: &Kata,
    color: bool,
    reporter: &mut dyn Reporter,
) -> Result<CrateReport> {
    workspace.ensure_loadable()?;
    let checks = [Check::exercise(kata)];
    let mut reports = runner::check(
        &workspace.repo.root,
        &checks,
        &Options::new(color),
        reporter,
    )
    .await?;
    let report = reports.remove(0);
    workspace
        .store
        .update(|p| p.kata_mut(&kata.name).record(&report))?;
    Ok(report)
}

/// Points out edited tests or manifests: passing them proves nothing.
pub fn warn_about_edits(workspace: &Workspace, kata: &Kata) -> Result<()> {
    let edited = workspace.snapshots()?.edited_protected_files(kata);
    if !edited.is_empty() {
        style::warning(&format!(
            "these files differ from the kata as shipped: {}. The tests are the truth; \
             grading uses the original files.",
            edited.join(", ")
        ));
    }
    Ok(())
}
