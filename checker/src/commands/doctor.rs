//! `doctor`: checks a learner's machine is ready for a workshop.

use super::Workspace;
use anyhow::Result;
use std::process::ExitCode;

pub fn doctor(_workspace: &Workspace, _no_build: bool) -> Result<ExitCode> {
    anyhow::bail!("doctor: being built (issue #6)")
}
