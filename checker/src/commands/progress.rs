//! `progress`: katas done, points, hints used and solutions revealed.

use super::Workspace;
use crate::exit;
use crate::progress::{unix_now, RoomMembership};
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
    room: Option<RoomStatus>,
}

#[derive(Serialize)]
struct RoomStatus {
    url: String,
    name: String,
    /// Results the room has not acknowledged yet; they go with the next sync.
    unsent: bool,
    last_error: Option<String>,
    unlocked_through: Option<u32>,
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
        room: progress.room.as_ref().map(|room| RoomStatus {
            url: room.url.clone(),
            name: room.name.clone(),
            unsent: room.has_unsent(progress.revision),
            last_error: room.last_error.clone(),
            unlocked_through: room.pacing.unlocked_through,
        }),
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
    outln!(
        "{} {}/{} katas done",
        bar.green(),
        summary.done,
        summary.total
    );
    outln!(
        "points              {}/{}",
        summary.points,
        summary.max_points
    );
    outln!("hints used          {}", summary.hints_shown);
    outln!("solutions revealed  {}", summary.solutions_revealed);
    outln!("current kata        {}", summary.current);
    if let Some(room) = &progress.room {
        outln!("room                {}", room_line(room));
        if room.has_unsent(progress.revision) {
            let why = room.last_error.as_deref().unwrap_or("sending now");
            outln!("                    results not in the room yet: {why}");
            if why.starts_with(crate::room::client::REFUSED) {
                outln!(
                    "                    ask the instructor for the room's code, then run \
                     `cargo kata join {} --code CODE --name \"{}\"` again",
                    room.url,
                    room.name
                );
            }
        }
    }
    Ok(exit::SUCCESS.into())
}

/// "as NAME at URL", with the pacing and when the room was last heard from.
pub fn room_line(room: &RoomMembership) -> String {
    let pacing = match room.pacing.unlocked_through {
        Some(last) => format!("; katas 1 to {last} open"),
        None => String::new(),
    };
    let heard = match room.heard_at {
        Some(at) => format!("; last heard {}s ago", unix_now().saturating_sub(at)),
        None => "; not heard from yet".to_string(),
    };
    format!("as {} at {}{pacing}{heard}", room.name, room.url)
}
