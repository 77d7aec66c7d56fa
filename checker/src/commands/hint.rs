//! `hint`: the next hint for a kata, recorded so progress shows how many were used.

use super::Workspace;
use crate::exit;
use anyhow::Result;
use colored::Colorize;
use std::process::ExitCode;

pub fn hint(workspace: &Workspace, name: Option<&str>) -> Result<ExitCode> {
    let kata = workspace.kata(name)?;
    let hints = &kata.meta.hints;
    if hints.is_empty() {
        outln!("{} has no hints.", kata.name);
        return Ok(exit::SUCCESS.into());
    }
    let shown = workspace.store.update(|p| {
        let record = p.kata_mut(&kata.name);
        record.hints_shown = (record.hints_shown + 1).min(hints.len());
        record.hints_shown
    })?;
    outln!(
        "{}",
        format!("Hint {shown} of {} for {}:", hints.len(), kata.name).bold()
    );
    crate::screen::print_indented(hints[shown - 1].trim_end(), 0);
    if shown == hints.len() {
        outln!(
            "{}",
            "That was the last hint. `cargo kata solution` shows the reference solution.".dimmed()
        );
    }
    Ok(exit::SUCCESS.into())
}
