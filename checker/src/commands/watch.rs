//! `watch`: the learner loop. Runs the current kata on every save, moves on when it passes, and
//! takes single keys for a hint, the list, a re-run, the next kata, or quitting.

use super::{hint, interrupted, list, run, runtime, Workspace};
use crate::kata::Kata;
use crate::report::terminal::{self as report, Terminal};
use crate::room::sync;
use crate::screen;
use crate::terminal::{self, Key, KeyMode};
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
    Run,
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

    // Shown at the top of the next screen, so it is not scrolled away by the next kata's output.
    let mut banner: Option<String> = None;
    loop {
        let progress = workspace.store.load()?;
        let kata = workspace.current(&progress);
        out!("\x1b[2J\x1b[H");
        if let Some(line) = banner.take() {
            outln!("{line}\n");
        }
        report::header(kata);
        if progress.is_locked(kata.meta.order) {
            outln!(
                "{} The instructor has not opened this kata yet. It starts by itself when they do.",
                "🔒".bold()
            );
            footer(&["[l] list", "[n] next kata", "[q] quit"]);
            match wait_for_input(workspace, kata, &mut keys, &mut changes, false).await? {
                Next::Run => continue,
                Next::Quit => return goodbye(workspace),
            }
        }
        let mut reporter = Terminal::new();
        let check = run::check_exercise(workspace, kata, style::color_enabled(), &mut reporter);
        let report = tokio::select! {
            report = check => report,
            _ = interrupted() => return goodbye(workspace),
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
                    banner = Some(format!(
                        "{} {} passed! On to {}.",
                        "✓".green().bold(),
                        kata.name,
                        next.name.bold()
                    ));
                    continue;
                }
                None => {
                    outln!("\n{} Every kata passes. Well done!", "✓".green().bold());
                    return Ok(exit::SUCCESS.into());
                }
            }
        }
        warn_if_room_unreachable(workspace)?;
        footer(&[
            "Save a file to run again",
            "[h] hint",
            "[l] list",
            "[r] run",
            "[n] next kata",
            "[q] quit",
        ]);
        match wait_for_input(workspace, kata, &mut keys, &mut changes, true).await? {
            Next::Run => {}
            Next::Quit => return goodbye(workspace),
        }
    }
}

/// The keys line, fitted to the terminal: it breaks between items, never inside one.
fn footer(items: &[&str]) {
    let width = screen::width().unwrap_or(usize::MAX);
    let mut line = String::new();
    outln!();
    for item in items {
        if !line.is_empty() && line.chars().count() + 3 + item.chars().count() > width {
            outln!("{}", line.dimmed());
            line.clear();
        }
        if !line.is_empty() {
            line.push_str(" · ");
        }
        line.push_str(item);
    }
    outln!("{}", line.dimmed());
}

/// Leaving says where the learner is, so the next session starts in the right place.
fn goodbye(workspace: &Workspace) -> Result<ExitCode> {
    let progress = workspace.store.load()?;
    let katas = &workspace.catalogue.katas;
    let done = katas
        .iter()
        .filter(|k| progress.kata(&k.name).status().is_done())
        .count();
    let current = workspace.current(&progress);
    outln!();
    screen::print_indented(
        &format!(
            "{done} of {} katas done; next up: {}. `cargo kata` picks up there.",
            katas.len(),
            current.name
        ),
        0,
    );
    Ok(exit::SUCCESS.into())
}

/// One line when the workshop room has not heard the learner's results: they are kept and sent
/// later, but the learner should know the instructor is not seeing them.
fn warn_if_room_unreachable(workspace: &Workspace) -> Result<()> {
    let progress = workspace.store.load()?;
    if let Some(room) = &progress.room {
        if let Some(why) = &room.last_error {
            let text = format!("your results have not reached the room yet: {why}. They are kept, and sent when it answers.");
            outln!();
            for line in screen::wrap(&text, screen::width(), "room: ", "      ") {
                outln!("{}", line.dimmed());
            }
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
    keys: &mut mpsc::UnboundedReceiver<Key>,
    changes: &mut mpsc::UnboundedReceiver<PathBuf>,
    after_a_run: bool,
) -> Result<Next> {
    let was_locked = workspace.store.load()?.is_locked(kata.meta.order);
    // A change that arrived while the tests ran may have come after the build read the file:
    // the result on screen could be stale, so run again.
    let mut changed_during_run = false;
    while let Ok(path) = changes.try_recv() {
        changed_during_run |= is_kata_change(kata, &path);
    }
    if after_a_run && changed_during_run && !was_locked {
        settle(changes).await;
        return Ok(Next::Run);
    }
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
                    return Ok(Next::Run);
                }
            }
            Some(path) = changes.recv() => {
                if is_kata_change(kata, &path) && !was_locked {
                    settle(changes).await;
                    return Ok(Next::Run);
                }
            }
            key = keys.recv() => match key {
                Some(Key::Char('h')) => {
                    outln!();
                    hint::hint(workspace, Some(&kata.name))?;
                }
                Some(Key::Char('l')) => {
                    outln!();
                    list::list(workspace, false)?;
                }
                Some(Key::Char('r')) => return Ok(Next::Run),
                Some(Key::Char('n')) => {
                    let katas = &workspace.catalogue.katas;
                    let index = workspace.catalogue.index_of(&kata.name).unwrap_or(0);
                    let next = &katas[(index + 1) % katas.len()];
                    workspace.store.update(|p| {
                        if !p.kata(&kata.name).status().is_done() {
                            p.kata_mut(&kata.name).skipped = true;
                        }
                        p.current = Some(next.name.clone());
                    })?;
                    return Ok(Next::Run);
                }
                Some(Key::Char('q') | Key::Stop) | None => return Ok(Next::Quit),
                Some(Key::Char(_)) => {}
            },
            _ = interrupted() => return Ok(Next::Quit),
        }
    }
}

/// A change to what the kata is built from: its manifest, or a file or a whole folder under
/// `src/` or `tests/` (a `reset` swaps `src/` in one rename), but not an editor's swap and backup
/// files. Anything else in the kata's folder (build output, a file the code under test wrote
/// there, since tests run in that folder) would start a run that starts the next.
fn is_kata_change(kata: &Kata, path: &Path) -> bool {
    let Ok(inside) = path.strip_prefix(&kata.exercise_dir) else {
        return false;
    };
    let source = match inside.components().next() {
        Some(first) => {
            first.as_os_str() == "src"
                || first.as_os_str() == "tests"
                || inside == Path::new("Cargo.toml")
        }
        None => false,
    };
    if !source {
        return false;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let editor_litter = name.starts_with(".#")
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name == "4913";
    !editor_litter
}

/// Lets a burst of writes from an editor finish.
async fn settle(changes: &mut mpsc::UnboundedReceiver<PathBuf>) {
    while let Ok(Some(_)) = tokio::time::timeout(SETTLE, changes.recv()).await {}
}
