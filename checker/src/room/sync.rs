//! The background sync: sends the learner's row to the room and hears the pacing back.
//!
//! Commands never talk to the room themselves. After a result is recorded they `nudge`, which
//! starts a detached `__room-sync` process and returns at once: a slow or absent room cannot slow
//! the learner down. What the room has not acknowledged stays marked in the progress file
//! (`sent_revision` below `revision`), so the next nudge after the room comes back catches up.

use super::client::{Client, RoomError};
use super::wire::{self, KataState, Report};
use crate::kata::Catalogue;
use crate::progress::{unix_now, Progress, RoomMembership, Status, Store};
use crate::repo::Repo;
use anyhow::{Context, Result};
use std::fs::File;
use std::process::{Command, Stdio};
use std::time::Duration;

/// How old the pacing may get before a nudge asks the room again.
const PACING_FRESH_SECS: u64 = 10;
/// How long one call to the room may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a command that shows the pacing waits for the room before it shows the last known.
const PACING_TIMEOUT: Duration = Duration::from_millis(500);

/// Starts a background sync when the room is owed results or the pacing is stale.
pub fn nudge(repo: &Repo, store: &Store) {
    nudge_if_older(repo, store, PACING_FRESH_SECS);
}

/// As `nudge`, for a learner waiting at a locked kata: the pacing may be only this old.
pub fn nudge_waiting(repo: &Repo, store: &Store, pacing_max_age_secs: u64) {
    nudge_if_older(repo, store, pacing_max_age_secs);
}

fn nudge_if_older(repo: &Repo, store: &Store, pacing_max_age_secs: u64) {
    let Ok(progress) = store.load() else { return };
    let Some(room) = &progress.room else { return };
    let pacing_stale = room
        .heard_at
        .is_none_or(|at| unix_now().saturating_sub(at) >= pacing_max_age_secs);
    if room.has_unsent(progress.revision) || pacing_stale {
        spawn(repo);
    }
}

fn spawn(repo: &Repo) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut command = Command::new(exe);
    command
        .arg("__room-sync")
        .current_dir(&repo.root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Its own process group: Ctrl-C in the learner's terminal is not meant for it.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    #[cfg(windows)]
    {
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        const CREATE_NO_WINDOW: u32 = 0x0800_0000;
        std::os::windows::process::CommandExt::creation_flags(
            &mut command,
            CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW,
        );
    }
    if let Ok(mut child) = command.spawn() {
        // Reaped by a thread, so a long `watch` collects no zombies; a short command just exits.
        std::thread::spawn(move || child.wait());
    }
}

/// Asks the room for its pacing now, briefly, so a command that shows which katas are locked
/// shows the instructor's latest unlock, not the one the last background sync heard. An
/// unreachable room costs at most `PACING_TIMEOUT` and leaves the last known pacing.
pub fn refresh_pacing(store: &Store) {
    let Ok(progress) = store.load() else { return };
    let Some(room) = progress.room else { return };
    let Ok(pacing) = Client::new(&room.url, PACING_TIMEOUT).pacing(&room.token) else {
        return;
    };
    let _ = store.update(|p| {
        if let Some(current) = p.room.as_mut().filter(|r| r.token == room.token) {
            current.pacing = pacing.into();
            current.heard_at = Some(unix_now());
        }
    });
}

/// The body of the `__room-sync` process: send until the room holds the newest revision.
pub fn run(repo: &Repo) -> Result<()> {
    let state_dir = repo.state_dir();
    std::fs::create_dir_all(&state_dir)?;
    let lock_path = state_dir.join("room-sync.lock");
    let store = Store::new(repo);
    let catalogue = Catalogue::load(repo)?;
    // A few rounds at most: a change recorded while another sync was finishing is still sent.
    for _ in 0..3 {
        let lock = File::create(&lock_path)
            .with_context(|| format!("cannot open {}", lock_path.display()))?;
        if lock.try_lock().is_err() {
            // Another sync is under way; it looks again before it stops.
            return Ok(());
        }
        if !sync_until_current(&store, &catalogue)? {
            return Ok(());
        }
        drop(lock);
        let progress = store.load()?;
        match &progress.room {
            Some(room) if room.has_unsent(progress.revision) => continue,
            _ => return Ok(()),
        }
    }
    Ok(())
}

/// Sends rows until nothing is unsent. False when the room could not be reached.
fn sync_until_current(store: &Store, catalogue: &Catalogue) -> Result<bool> {
    loop {
        let progress = store.load()?;
        let Some(room) = progress.room.clone() else {
            return Ok(true);
        };
        let outcome = exchange(&room, &progress, catalogue);
        let reached = outcome.is_ok();
        store.update(|p| {
            // The learner may have left, or joined another room, meanwhile.
            let Some(current) = p.room.as_mut().filter(|r| r.token == room.token) else {
                return;
            };
            match outcome {
                Ok(Exchange { pacing, sent, held }) => {
                    current.pacing = pacing.into();
                    current.heard_at = Some(unix_now());
                    current.last_error = None;
                    current.sent_revision = current.sent_revision.max(sent);
                    // The room holds a newer row than ours (this progress file was restored
                    // from an older copy, say): number ours past it so the next round counts.
                    if held > sent {
                        p.revision = p.revision.max(held + 1);
                    }
                }
                Err(err) => current.last_error = Some(err.to_string()),
            }
        })?;
        if !reached {
            return Ok(false);
        }
        let progress = store.load()?;
        if !progress
            .room
            .as_ref()
            .is_some_and(|r| r.has_unsent(progress.revision))
        {
            return Ok(true);
        }
    }
}

/// What one call to the room found.
struct Exchange {
    pacing: wire::Pacing,
    /// The revision this call delivered (or the one already delivered).
    sent: u64,
    /// The revision the room holds for this learner.
    held: u64,
}

/// One call: the row when something is unsent, else just the pacing.
fn exchange(
    room: &RoomMembership,
    progress: &Progress,
    catalogue: &Catalogue,
) -> Result<Exchange, RoomError> {
    let client = Client::new(&room.url, CALL_TIMEOUT);
    if room.has_unsent(progress.revision) {
        let report = report_for(room, progress, catalogue);
        let ack = client.report(&room.token, &report)?;
        Ok(Exchange {
            pacing: ack.pacing,
            sent: report.seq,
            held: ack.seq,
        })
    } else {
        Ok(Exchange {
            pacing: client.pacing(&room.token)?,
            sent: room.sent_revision,
            held: room.sent_revision,
        })
    }
}

/// The learner's whole row: every kata of the catalogue they have touched.
pub fn report_for(room: &RoomMembership, progress: &Progress, catalogue: &Catalogue) -> Report {
    let katas = catalogue
        .katas
        .iter()
        .filter_map(|kata| {
            let record = progress.katas.get(&kata.name)?;
            let status = record.status();
            if status == Status::NotStarted && record.hints_shown == 0 {
                return None;
            }
            let failure = match status {
                Status::Failing => record
                    .last_failure
                    .as_deref()
                    .map(|f| f.chars().take(wire::MAX_FAILURE_CHARS).collect()),
                _ => None,
            };
            // The room refuses counts above MAX_COUNT; no real run comes near it.
            let state = KataState {
                status: status.into(),
                attempts: record.attempts.min(wire::MAX_COUNT),
                hints: u32::try_from(record.hints_shown)
                    .unwrap_or(u32::MAX)
                    .min(wire::MAX_COUNT),
                failure,
            };
            Some((kata.name.clone(), state))
        })
        .collect();
    Report {
        protocol: wire::PROTOCOL,
        room_code: room.code.clone(),
        seq: progress.revision,
        katas,
    }
}
