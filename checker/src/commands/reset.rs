//! `reset`: restore a kata's original code, keeping the learner's as a backup; `--undo` brings
//! the learner's code back, and `--list` shows what is kept.

use super::Workspace;
use crate::backups::{Backup, Backups, Outcome, Tree};
use crate::exit;
use crate::kata::Kata;
use crate::progress::unix_now;
use anyhow::Result;
use colored::Colorize;
use std::process::ExitCode;

pub fn reset(
    workspace: &Workspace,
    name: Option<&str>,
    undo: Option<Option<usize>>,
    list: bool,
) -> Result<ExitCode> {
    let kata = workspace.kata(name)?;
    let original = workspace.snapshots()?.original_src(kata)?;
    let backups = Backups::new(&workspace.repo);
    if list {
        print_list(kata, &backups.list(kata)?, &original);
        return Ok(exit::SUCCESS.into());
    }
    match undo {
        Some(pick) => {
            let (chosen, outcome) = backups.undo(kata, &original, pick)?;
            match outcome {
                Outcome::Unchanged => outln!(
                    "{} src/ already holds the code kept in {}",
                    "✓".green(),
                    chosen.dir.display()
                ),
                Outcome::Replaced { kept } => {
                    outln!(
                        "{} brought back your code from {} ({})",
                        "✓".green(),
                        chosen.dir.display(),
                        age(chosen.taken_at)
                    );
                    if let Some(kept) = kept {
                        outln!("  What src/ held is kept in {}", kept.display());
                    }
                }
            }
        }
        None => match backups.reset(kata, &original)? {
            Outcome::Unchanged => outln!(
                "{} {} already holds its original code; nothing to keep.",
                "✓".green(),
                kata.name
            ),
            Outcome::Replaced { kept } => {
                outln!(
                    "{} {} is back to its original code.",
                    "✓".green(),
                    kata.name
                );
                match kept {
                    Some(kept) => outln!("  Your code is kept in {}", kept.display()),
                    None => outln!("  Your code was already kept in an earlier backup."),
                }
                outln!(
                    "  `cargo kata reset {} --undo` brings it back; `--list` shows every backup.",
                    kata.name
                );
            }
        },
    }
    Ok(exit::SUCCESS.into())
}

fn print_list(kata: &Kata, backups: &[Backup], original: &Tree) {
    if backups.is_empty() {
        outln!(
            "{} has no backups yet: `reset` keeps one each time it replaces your code.",
            kata.name
        );
        return;
    }
    outln!(
        "Backups of {}, newest first (`--undo N` brings one back):",
        kata.name
    );
    for (index, backup) in backups.iter().enumerate() {
        let note = if &backup.files == original {
            " · the original code".dimmed().to_string()
        } else {
            String::new()
        };
        outln!(
            "  {:>2}  {:<16} {}{note}",
            index + 1,
            age(backup.taken_at),
            backup.dir.display()
        );
    }
}

/// How long ago, in the largest unit that fits: `just now`, `12 min ago`, `3 h ago`, `2 days ago`.
fn age(taken_at: u64) -> String {
    let secs = unix_now().saturating_sub(taken_at);
    match secs {
        0..60 => "just now".to_string(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86400 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86400),
    }
}
