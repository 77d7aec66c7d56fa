//! `list`: every kata in order, with its status and points, and which one is current.

use super::Workspace;
use crate::exit;
use crate::kata::Difficulty;
use crate::progress::Status;
use crate::report::json;
use crate::screen;
use anyhow::Result;
use colored::Colorize;
use serde::Serialize;
use std::process::ExitCode;

#[derive(Serialize)]
struct Row<'a> {
    name: &'a str,
    id: &'a str,
    order: u32,
    module: &'a str,
    title: &'a str,
    difficulty: Difficulty,
    tags: &'a [String],
    status: Status,
    /// Not opened yet by the workshop room's instructor.
    locked: bool,
    /// The learner moved on from it before it passed.
    skipped: bool,
    current: bool,
    attempts: u32,
    hints_shown: usize,
    points: u32,
    max_points: u32,
}

pub fn list(workspace: &Workspace, as_json: bool) -> Result<ExitCode> {
    let mut progress = workspace.store.load()?;
    // In a workshop room, the locks shown are the instructor's latest, not the last synced.
    if progress.room.is_some() {
        crate::room::sync::refresh_pacing(&workspace.store);
        progress = workspace.store.load()?;
    }
    let current = workspace.current(&progress).name.clone();
    let rows: Vec<Row> = workspace
        .catalogue
        .katas
        .iter()
        .map(|kata| {
            let record = progress.kata(&kata.name);
            Row {
                name: &kata.name,
                id: &kata.meta.id,
                order: kata.meta.order,
                module: &kata.meta.module,
                title: &kata.meta.title,
                difficulty: kata.meta.difficulty,
                tags: &kata.meta.tags,
                status: record.status(),
                locked: progress.is_locked(kata.meta.order),
                skipped: record.skipped && !record.status().is_done(),
                current: kata.name == current,
                attempts: record.attempts,
                hints_shown: record.hints_shown,
                points: record.points,
                max_points: kata.max_points(),
            }
        })
        .collect();
    if as_json {
        json::print(&rows)?;
    } else {
        print_table(&rows);
        if let Some(room) = &progress.room {
            outln!("\n{}", super::progress::room_line(room).dimmed());
        }
    }
    Ok(exit::SUCCESS.into())
}

fn print_table(rows: &[Row]) {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let screen = screen::width();
    // On a narrow terminal each title takes a line of its own below its row.
    let before_title = width + 53;
    let narrow = screen.is_some_and(|columns| columns < before_title + 20);
    let header = format!(
        "    {:<width$}  {:<5} {:<8} {:<23} {:>6}  ",
        "kata", "id", "level", "status", "points"
    );
    if narrow {
        outln!("{}", header.trim_end());
    } else {
        outln!("{header}title");
    }
    let mut module = "";
    for row in rows {
        if row.module != module {
            module = row.module;
            outln!("{}", module.cyan().bold());
        }
        let marker = if row.current {
            "▶".cyan().bold()
        } else {
            " ".normal()
        };
        let open = !row.locked || row.status.is_done();
        let label = match () {
            _ if !open => "locked",
            _ if row.skipped && row.status == Status::NotStarted => "skipped",
            _ if row.skipped => "skipped (failing)",
            _ => row.status.label(),
        };
        let status = format!("{label:<23}");
        let status = match row.status {
            _ if !open || row.skipped => status.dimmed(),
            Status::NotStarted => status.dimmed(),
            Status::Failing => status.yellow(),
            Status::Passed => status.green(),
            Status::PassedAfterSolution => status.blue(),
        };
        let level = format!("{:?}", row.difficulty).to_lowercase();
        let points = format!("{}/{}", row.points, row.max_points);
        let start = format!(
            "  {marker} {:<width$}  {:<5} {:<8} {status} {points:>6}  ",
            row.name, row.id, level
        );
        // The title wraps under itself: every column before it is as wide on every row.
        if narrow {
            outln!("{}", start.trim_end());
            for line in screen::wrap(row.title, screen, "      ", "      ") {
                outln!("{}", line.dimmed());
            }
        } else {
            let indent = " ".repeat(before_title);
            let title = screen::wrap(row.title, screen, &indent, &indent);
            for (index, line) in title.iter().enumerate() {
                if index == 0 {
                    outln!("{start}{}", line.trim_start());
                } else {
                    outln!("{line}");
                }
            }
        }
    }
}
