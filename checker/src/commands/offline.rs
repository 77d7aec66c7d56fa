//! `offline`: prepares the repository to build with no network at all.

use super::Workspace;
use anyhow::Result;
use std::process::ExitCode;

pub fn offline(_workspace: &Workspace, _undo: bool) -> Result<ExitCode> {
    anyhow::bail!("offline: being built (issue #6)")
}
