//! Resource limits for test processes of untrusted code.
//!
//! The checker re-runs itself as `checker __limited-exec BYTES PROGRAM ARGS...`: it lowers its
//! own data-segment limit (heap and anonymous mappings) and then replaces itself with the test
//! binary, which keeps the limit. Doing it this way needs no unsafe `pre_exec` hook.

use anyhow::{Context, Result};
use std::ffi::OsString;

/// The hidden first argument that selects this mode.
pub const LIMITED_EXEC: &str = "__limited-exec";

/// When the arguments ask for a limited exec, performs it; returns only on failure.
pub fn exec_if_asked() -> Option<anyhow::Error> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != LIMITED_EXEC {
        return None;
    }
    Some(exec_limited(args.collect()).unwrap_err())
}

fn exec_limited(args: Vec<OsString>) -> Result<std::convert::Infallible> {
    let [bytes, program, rest @ ..] = &args[..] else {
        anyhow::bail!("usage: {LIMITED_EXEC} BYTES PROGRAM [ARGS...]");
    };
    let bytes: u64 = bytes
        .to_str()
        .and_then(|b| b.parse().ok())
        .context("BYTES must be a number")?;
    limit_data(bytes)?;
    Err(exec(program, rest))
}

#[cfg(target_os = "linux")]
fn limit_data(bytes: u64) -> Result<()> {
    use rustix::process::{setrlimit, Resource, Rlimit};
    let limit = Rlimit {
        current: Some(bytes),
        maximum: Some(bytes),
    };
    setrlimit(Resource::Data, limit).context("cannot set the memory limit")
}

#[cfg(not(target_os = "linux"))]
fn limit_data(_bytes: u64) -> Result<()> {
    Ok(())
}

#[cfg(unix)]
fn exec(program: &OsString, args: &[OsString]) -> anyhow::Error {
    use std::os::unix::process::CommandExt;
    let err = std::process::Command::new(program).args(args).exec();
    anyhow::Error::new(err).context(format!("cannot run {}", program.to_string_lossy()))
}

#[cfg(not(unix))]
fn exec(program: &OsString, _args: &[OsString]) -> anyhow::Error {
    anyhow::anyhow!(
        "memory limits need unix to run {}",
        program.to_string_lossy()
    )
}
