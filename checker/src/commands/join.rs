//! `join`, `leave` and the background sync: the learner's side of a workshop room.

use super::Workspace;
use anyhow::Result;
use std::process::ExitCode;

pub fn join(_workspace: &Workspace, _url: &str, _code: &str, _name: &str) -> Result<ExitCode> {
    anyhow::bail!("join: being built (issue #6)")
}

pub fn leave(_workspace: &Workspace) -> Result<ExitCode> {
    anyhow::bail!("leave: being built (issue #6)")
}

pub fn sync(_workspace: &Workspace) -> Result<ExitCode> {
    anyhow::bail!("sync: being built (issue #6)")
}
