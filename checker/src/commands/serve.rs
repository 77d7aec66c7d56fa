//! `serve`: opens the workshop room by running its server, the `kata-room` crate, through cargo
//! (which builds it the first time). The server is a crate of its own so that a learner's build
//! never compiles it; every argument after `serve` is the server's.

use crate::cargo;
use crate::repo::Repo;
use anyhow::{Context, Result};
use std::process::{Command, ExitCode};

pub fn serve(args: &[String]) -> Result<ExitCode> {
    let repo = Repo::discover()?;
    let mut cmd = Command::new(cargo::program()?);
    // Cargo and the server run where the instructor typed the command, so that a relative
    // `--db` or CARGO_TARGET_DIR means what it says there; the manifest names the repository's
    // workspace from any folder in it, and the server finds the repository by itself.
    cmd.arg("run")
        .arg("--manifest-path")
        .arg(repo.root.join("Cargo.toml"))
        .args(["--package", "kata-room", "--bin", "kata-room", "--"])
        .args(args);
    run_in_our_place(cmd)
}

/// On Unix the server takes over this process, so signals and the exit status are its own.
#[cfg(unix)]
fn run_in_our_place(mut cmd: Command) -> Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let err = cmd.exec();
    Err(err).context("cannot start cargo to run the room's server")
}

/// Elsewhere we wait for it. Ctrl-C reaches the server too, which closes the room; this
/// process only has to outlive it and pass its exit status on.
#[cfg(not(unix))]
fn run_in_our_place(cmd: Command) -> Result<ExitCode> {
    super::runtime()?.block_on(async {
        let mut child = tokio::process::Command::from(cmd)
            .spawn()
            .context("cannot start cargo to run the room's server")?;
        loop {
            tokio::select! {
                status = child.wait() => {
                    let code = status?.code().unwrap_or(1);
                    return Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)));
                }
                _ = tokio::signal::ctrl_c() => {}
            }
        }
    })
}
