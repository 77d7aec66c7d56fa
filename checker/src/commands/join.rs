//! `join` and `leave`: the learner's membership of a workshop room, and the entry point of the
//! background sync process that reports to it.

use super::Workspace;
use crate::exit;
use crate::progress::{unix_now, RoomMembership};
use crate::repo::Repo;
use crate::room::client::{Client, RoomError};
use crate::room::sync;
use crate::room::wire::JoinRequest;
use anyhow::{bail, Result};
use colored::Colorize;
use std::process::ExitCode;
use std::time::Duration;

pub fn join(workspace: &Workspace, url: &str, code: &str, name: &str) -> Result<ExitCode> {
    let url = normalise_url(url)?;
    let progress = workspace.store.load()?;
    // Joining the same room again keeps the learner's row: the server recognises the token.
    let token = progress
        .room
        .as_ref()
        .filter(|room| room.url == url)
        .map(|room| room.token.clone());
    let request = JoinRequest {
        room_code: code.trim().to_string(),
        name: name.trim().to_string(),
        token,
    };
    let joined = match Client::new(&url, Duration::from_secs(5)).join(&request) {
        Ok(joined) => joined,
        Err(RoomError::Unreachable(why)) => bail!(
            "cannot reach the room at {url} ({why}): check the address the instructor gave, \
             and that you are on the room's network"
        ),
        Err(RoomError::Refused { message, .. }) => bail!("the room did not let you in: {message}"),
    };
    let membership = RoomMembership {
        url: url.clone(),
        code: request.room_code,
        name: request.name,
        learner: joined.learner,
        token: joined.token,
        // Everything done so far goes to the room too.
        sent_revision: 0,
        pacing: joined.pacing.into(),
        heard_at: Some(unix_now()),
        last_error: None,
    };
    let name = membership.name.clone();
    workspace.store.update(|p| p.room = Some(membership))?;
    sync::nudge(&workspace.repo, &workspace.store);
    outln!(
        "{} Joined the room at {} as {}. From now on your results reach it in the background.",
        "✓".green().bold(),
        url,
        name.bold()
    );
    if let Some(last) = joined.pacing.unlocked_through {
        outln!("  The instructor has opened katas 1 to {last} so far.");
    }
    Ok(exit::SUCCESS.into())
}

pub fn leave(workspace: &Workspace) -> Result<ExitCode> {
    let left = workspace.store.update(|p| p.room.take())?;
    match left {
        Some(room) => outln!(
            "Left the room at {}: your results stay on this machine from now on.",
            room.url
        ),
        None => outln!("You are not in a room: nothing to leave."),
    }
    Ok(exit::SUCCESS.into())
}

/// The hidden `__room-sync` command. It runs detached, so it has nobody to tell about errors:
/// they are recorded in the progress file for `progress` to show.
pub fn sync_in_background() -> Result<ExitCode> {
    let repo = Repo::discover()?;
    sync::run(&repo)?;
    Ok(exit::SUCCESS.into())
}

/// `http://host:port` without a trailing slash; a bare `host:port` gets `http://`.
fn normalise_url(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    let url = if url.contains("://") {
        url.to_string()
    } else {
        format!("http://{url}")
    };
    if !url.starts_with("http://") {
        bail!(
            "`{url}` is not an http:// address (the room speaks plain http on the room's \
             network): give the address `cargo kata serve` printed"
        );
    }
    if url.len() <= "http://".len() {
        bail!("`{url}` has no host: give the address `cargo kata serve` printed");
    }
    Ok(url)
}
