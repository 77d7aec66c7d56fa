//! `watch`: the learner loop. Runs the current kata on every save, moves on when it passes, and
//! takes single keys for a hint, the list, a re-run, the next kata, or quitting.

use super::{hint, interrupted, list, run, runtime, Workspace};
use crate::kata::Kata;
use crate::report::terminal::{self as report, Terminal};
use crate::room::sync;
use crate::terminal::{self, KeyMode};
use crate::{exit, style};
use anyhow::{Context, Result};
use colored::Colorize;
use notify::{EventKind, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long to wait for an editor to finish writing before running.
const SETTLE: Duration = Duration::from_millis(150);
/// How often an idle loop lets the workshop room catch up and looks for newly opened katas.
const ROOM_TICK: Duration = Duration::from_secs(3);

enum Next {
    Run { clear: bool },
    Quit,
}

pub fn watch(workspace: &Workspace, start: Option<&str>) -> Result<ExitCode> {
    terminal::require_tty("cargo kata watch")?;
    if let Some(name) = start {
        let kata = workspace.catalogue.resolve(name)?;
        workspace
            .store
            .update(|p| p.current = Some(kata.name.clone()))?;
    }
    runtime()?.block_on(watch_loop(workspace))
}

async fn watch_loop(workspace: &Workspace) -> Result<ExitCode> {
    let _key_mode = KeyMode::enable()?;
    let mut keys = terminal::keys();
    let (changes_tx, mut changes) = mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            if matches!(
                event.kind,
                EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
            ) {
                for path in event.paths {
                    let _ = changes_tx.send(path);
                }
            }
        }
    })
    .context("cannot watch files")?;
    watcher
        .watch(&workspace.repo.exercises(), RecursiveMode::Recursive)
        .context("cannot watch the exercises folder")?;

    let mut clear = true;
    loop {
        let progress = workspace.store.load()?;
        let kata = workspace.current(&progress);
        if clear {
            print!("\x1b[2J\x1b[H");
        }
        report::header(kata);
        if progress.is_locked(kata.meta.order) {
            println!(
                "{} The instructor has not opened this kata yet. It starts by itself when they do.",
                "🔒".bold()
            );
            println!("\n{}", "[l] list · [n] next kata · [q] quit".dimmed());
            match wait_for_input(workspace, kata, &mut keys, &mut changes).await? {
                Next::Run { clear: c } => clear = c,
                Next::Quit => return Ok(exit::SUCCESS.into()),
            }
            continue;
        }
        let mut reporter = Terminal::new();
        let check = run::check_exercise(workspace, kata, style::color_enabled(), &mut reporter);
        let report = tokio::select! {
            report = check => report,
            _ = interrupted() => return Ok(exit::SUCCESS.into()),
        };
        sync::nudge(&workspace.repo, &workspace.store);
        // A check that could not run (a file missing mid-save, say) is shown, and the loop goes
        // on: the next save may well fix it.
        let passed = match report {
            Ok(report) => {
                run::warn_about_edits(workspace, kata)?;
                report.passed()
            }
            Err(err) => {
                style::print_error(&err);
                false
            }
        };
        if passed {
            match move_on(workspace, kata)? {
                Some(next) => {
                    println!(
                        "\n{} {} passed! On to {}.\n",
                        "✓".green().bold(),
                        kata.name,
                        next.name.bold()
                    );
                    clear = false;
                    continue;
                }
                None => {
                    println!("\n{} Every kata passes. Well done!", "✓".green().bold());
                    return Ok(exit::SUCCESS.into());
                }
            }
        }
        warn_if_room_unreachable(workspace)?;
        println!(
            "\n{}",
            "Save a file to run again · [h] hint · [l] list · [r] run · [n] next kata · [q] quit"
                .dimmed()
        );
        match wait_for_input(workspace, kata, &mut keys, &mut changes).await? {
            Next::Run { clear: c } => clear = c,
            Next::Quit => return Ok(exit::SUCCESS.into()),
        }
    }
}

/// One line when the workshop room has not heard the learner's results: they are kept and sent
/// later, but the learner should know the instructor is not seeing them.
fn warn_if_room_unreachable(workspace: &Workspace) -> Result<()> {
    let progress = workspace.store.load()?;
    if let Some(room) = &progress.room {
        if let Some(why) = &room.last_error {
            println!(
                "\n{} {}",
                "room:".yellow(),
                format!("your results have not reached the room yet: {why}. They are kept, and sent when it answers.").dimmed()
            );
        }
    }
    Ok(())
}

/// Makes the next unfinished kata current; `None` when every kata is done.
fn move_on<'a>(workspace: &'a Workspace, kata: &Kata) -> Result<Option<&'a Kata>> {
    let progress = workspace.store.load()?;
    let done = workspace
        .catalogue
        .katas
        .iter()
        .all(|k| progress.kata(&k.name).status().is_done());
    if done {
        return Ok(None);
    }
    let from = workspace
        .catalogue
        .index_of(&kata.name)
        .map_or(0, |i| i + 1);
    let next = workspace.first_unfinished(&progress, from);
    workspace
        .store
        .update(|p| p.current = Some(next.name.clone()))?;
    Ok(Some(next))
}

async fn wait_for_input(
    workspace: &Workspace,
    kata: &Kata,
    keys: &mut mpsc::UnboundedReceiver<char>,
    changes: &mut mpsc::UnboundedReceiver<PathBuf>,
) -> Result<Next> {
    // Changes made while the last run was under way are already part of it.
    while changes.try_recv().is_ok() {}
    let was_locked = workspace.store.load()?.is_locked(kata.meta.order);
    let mut room_tick = tokio::time::interval(ROOM_TICK);
    loop {
        tokio::select! {
            _ = room_tick.tick() => {
                if was_locked {
                    sync::nudge_waiting(&workspace.repo, &workspace.store, ROOM_TICK.as_secs());
                } else {
                    sync::nudge(&workspace.repo, &workspace.store);
                }
                if was_locked && !workspace.store.load()?.is_locked(kata.meta.order) {
                    return Ok(Next::Run { clear: true });
                }
            }
            Some(path) = changes.recv() => {
                if is_kata_source(kata, &path) && !was_locked {
                    settle(changes).await;
                    return Ok(Next::Run { clear: true });
                }
            }
            key = keys.recv() => match key {
                Some('h') => {
                    println!();
                    hint::hint(workspace, Some(&kata.name))?;
                }
                Some('l') => {
                    println!();
                    list::list(workspace, false)?;
                }
                Some('r') => return Ok(Next::Run { clear: true }),
                Some('n') => {
                    let index = workspace.catalogue.index_of(&kata.name).unwrap_or(0);
                    let next = &workspace.catalogue.katas[(index + 1) % workspace.catalogue.katas.len()];
                    workspace.store.update(|p| p.current = Some(next.name.clone()))?;
                    return Ok(Next::Run { clear: true });
                }
                Some('q') | None => return Ok(Next::Quit),
                Some(_) => {}
            },
            _ = interrupted() => return Ok(Next::Quit),
        }
    }
}

/// Source files of the kata: not editor swap files, not build output.
fn is_kata_source(kata: &Kata, path: &Path) -> bool {
    let in_kata = path.starts_with(&kata.exercise_dir)
        && !path.components().any(|c| c.as_os_str() == "target");
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    in_kata && (name.ends_with(".rs") || name == "Cargo.toml")
}

/// Lets a burst of writes from an editor finish.
async fn settle(changes: &mut mpsc::UnboundedReceiver<PathBuf>) {
    while let Ok(Some(_)) = tokio::time::timeout(SETTLE, changes.recv()).await {}
}
