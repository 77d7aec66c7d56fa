//! `progress`: katas done, points, hints used and solutions revealed.

use super::Workspace;
use crate::exit;
use crate::report::json;
use anyhow::Result;
use colored::Colorize;
use serde::Serialize;
use std::process::ExitCode;

#[derive(Serialize)]
struct Summary {
    done: usize,
    total: usize,
    points: u32,
    max_points: u32,
    hints_shown: usize,
    solutions_revealed: usize,
    current: String,
}

pub fn progress(workspace: &Workspace, as_json: bool) -> Result<ExitCode> {
    let progress = workspace.store.load()?;
    let katas = &workspace.catalogue.katas;
    let records: Vec<_> = katas.iter().map(|k| progress.kata(&k.name)).collect();
    let summary = Summary {
        done: records.iter().filter(|r| r.status().is_done()).count(),
        total: katas.len(),
        points: records.iter().map(|r| r.points).sum(),
        max_points: katas.iter().map(|k| k.max_points()).sum(),
        hints_shown: records.iter().map(|r| r.hints_shown).sum(),
        solutions_revealed: records.iter().filter(|r| r.solution_revealed).count(),
        current: workspace.current(&progress).name.clone(),
    };
    if as_json {
        json::print(&summary)?;
        return Ok(exit::SUCCESS.into());
    }
    let width = 30;
    let filled = (summary.done * width)
        .checked_div(summary.total)
        .unwrap_or(0);
    let bar = format!("{}{}", "█".repeat(filled), "░".repeat(width - filled));
    println!(
        "{} {}/{} katas done",
        bar.green(),
        summary.done,
        summary.total
    );
    println!(
        "points              {}/{}",
        summary.points, summary.max_points
    );
    println!("hints used          {}", summary.hints_shown);
    println!("solutions revealed  {}", summary.solutions_revealed);
    println!("current kata        {}", summary.current);
    Ok(exit::SUCCESS.into())
}
