//! `reset`: restore a kata's original code, keeping the learner's as a backup; `--undo` brings
//! the newest backup back.

use super::Workspace;
use crate::exit;
use anyhow::Result;
use colored::Colorize;
use std::process::ExitCode;

pub fn reset(workspace: &Workspace, name: Option<&str>, undo: bool) -> Result<ExitCode> {
    let kata = workspace.kata(name)?;
    if undo {
        let restored = workspace.snapshots()?.undo_reset(kata)?;
        println!(
            "{} brought back your code from {}",
            "✓".green(),
            restored.display()
        );
        println!("  (what was there before is itself kept as a newer backup)");
    } else {
        let backup = workspace.snapshots()?.reset(kata)?;
        println!(
            "{} {} is back to its original code.",
            "✓".green(),
            kata.name
        );
        println!("  Your code is kept in {}", backup.display());
        println!("  `cargo kata reset {} --undo` brings it back.", kata.name);
    }
    Ok(exit::SUCCESS.into())
}
