//! `serve`: the instructor's workshop room, a live dashboard of every learner.

use super::Workspace;
use crate::cli::ServeArgs;
use anyhow::Result;
use std::process::ExitCode;

pub fn serve(_workspace: &Workspace, _args: &ServeArgs) -> Result<ExitCode> {
    anyhow::bail!("serve: being built (issue #6)")
}
