//! Setting up a process of untrusted code from the inside, before it becomes that code: a test,
//! or a student's build while grading.
//!
//! The checker re-runs itself as `checker __launch [--memory BYTES] [POLICY] -- PROGRAM ARGS...`:
//! that process arranges to die with the checker, lowers its own limits, and then replaces
//! itself with the program, which keeps all of it. A confined program (see confine) goes through
//! namespaces of its own first, and runs under a second launcher, its PID namespace's first
//! process. A fresh exec of ourselves needs no unsafe `pre_exec`.

use crate::confine::{self, Policy};
use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;
use tokio::process::Command;

/// The hidden first argument that selects this mode.
pub const LAUNCH: &str = "__launch";

/// How a process of untrusted code is set up.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// The most heap (RLIMIT_DATA) the process may use, in bytes.
    pub memory_limit: Option<u64>,
    /// What it may touch, when grading confines it.
    pub policy: Option<Policy>,
}

/// The command that starts `program` with `setup`: through the launcher on Linux, directly
/// elsewhere.
///
/// Only Linux has the means it needs: a test that dies when the checker dies, even by SIGKILL
/// (which no handler of ours can see), a memory limit on heap only, and confinement. Elsewhere
/// tests start directly, without a memory limit (grading refuses to run unconfined there unless
/// asked to).
pub fn command(program: &Path, setup: &Setup) -> Command {
    if !cfg!(target_os = "linux") {
        return Command::new(program);
    }
    // The running checker itself, not the file at its path: `watch` runs for hours, and a
    // rebuild meanwhile replaces that file. Without /proc this fails to start, loudly, rather
    // than running the code unconfined.
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg(LAUNCH);
    if let Some(bytes) = setup.memory_limit {
        cmd.arg("--memory").arg(bytes.to_string());
    }
    if let Some(policy) = &setup.policy {
        cmd.args(policy.to_args());
    }
    cmd.arg("--").arg(program);
    cmd
}

/// What a confined process keeps of the checker's environment: where programs are, the
/// language, and which toolchain. The rest of an instructor's environment (tokens, an SSH agent,
/// a desktop bus, CI secrets) stays out of students' reach; callers add what the process needs.
pub fn essential_env() -> Vec<(OsString, OsString)> {
    const KEPT: [&str; 10] = [
        "PATH",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "LD_LIBRARY_PATH",
        "CARGO",
        "CARGO_HOME",
        "RUSTC",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
    ];
    KEPT.iter()
        .filter_map(|name| Some((OsString::from(name), std::env::var_os(name)?)))
        .collect()
}

/// When the arguments ask for a launch, performs it. It returns only on failure, or when the
/// program ran as a child (the first process of a PID namespace), with how that ended.
pub fn exec_if_asked() -> Option<Result<ExitCode>> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != LAUNCH {
        return None;
    }
    Some(launch(args.collect()))
}

/// Marks the second launcher of a confined program: the first process of its PID namespace.
const FIRST_PROCESS: &str = "--first-process";

fn launch(args: Vec<OsString>) -> Result<ExitCode> {
    let usage = || format!("usage: {LAUNCH} [--memory BYTES] [POLICY] -- PROGRAM [ARGS...]");
    let mut memory_limit = None;
    let mut policy = Policy::default();
    let mut first_process = false;
    let mut args = args.into_iter();
    loop {
        let arg = args.next().with_context(usage)?;
        let flag = arg.to_string_lossy();
        if flag == "--memory" {
            let bytes = args.next().and_then(|b| b.to_str()?.parse().ok());
            memory_limit = Some(bytes.with_context(usage)?);
        } else if flag == FIRST_PROCESS {
            first_process = true;
        } else if flag == "--" {
            break;
        } else if !policy.take_arg(&flag, || args.next())? {
            bail!(usage());
        }
    }
    let program = args.next().with_context(usage)?;
    let rest: Vec<OsString> = args.collect();
    die_with_parent()?;
    if first_process {
        confine::restrict_files(&policy)?;
        // The first process of a PID namespace ignores every signal it has no handler for, even
        // one it sends itself (`abort`): the program runs as its child, where signals work as
        // anywhere, and this process stays a small init that waits for it.
        let status = std::process::Command::new(&program)
            .args(&rest)
            .status()
            .with_context(|| format!("cannot run {}", program.to_string_lossy()))?;
        return Ok(end_as(status, Codes::AsTheyAre));
    }
    if let Some(bytes) = memory_limit {
        limit_data(bytes)?;
    }
    if policy.is_empty() {
        return Err(exec(&program, &rest));
    }
    if !policy.own_network {
        confine::restrict_files(&policy)?;
        return Err(exec(&program, &rest));
    }
    confine::enter_namespaces(&policy)?;
    run_first_process(&policy, &program, &rest)
}

/// Runs the program in the new PID namespace and ends as it ended. A second launcher is the
/// namespace's first process: it confines its files and runs the program as its child. When it
/// ends, the kernel kills every other process in the namespace, so nothing the code started
/// outlives it; and from inside, no process outside can even be named, let alone signalled.
fn run_first_process(policy: &Policy, program: &OsString, args: &[OsString]) -> Result<ExitCode> {
    let status = std::process::Command::new("/proc/self/exe")
        .arg(LAUNCH)
        .arg(FIRST_PROCESS)
        .args(policy.to_args())
        .arg("--")
        .arg(program)
        .args(args)
        .status()
        .context("cannot start the confined program")?;
    Ok(end_as(status, Codes::AboveOneTwentyEightAreSignals))
}

/// What a child's exit code says.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Codes {
    AsTheyAre,
    /// The child was a namespace's first process, which cannot end by a signal itself: it
    /// passes on its own child's signal N as the shell does, as exit code 128 + N.
    AboveOneTwentyEightAreSignals,
}

/// How this process ends when its child ended as `status` says: by the same signal (the
/// checker reads a crash from it), or with the same exit code. A signal this process cannot
/// end by (the first process of a PID namespace, or one Rust's runtime ignores) becomes exit
/// code 128 + N.
#[cfg(unix)]
fn end_as(status: std::process::ExitStatus, codes: Codes) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    let signal = match (status.signal(), status.code()) {
        (Some(signal), _) => Some(signal),
        (None, Some(code)) if codes == Codes::AboveOneTwentyEightAreSignals && code > 128 => {
            Some(code - 128)
        }
        _ => None,
    };
    if let Some(named) = signal.and_then(rustix::process::Signal::from_named_raw) {
        // A fresh launcher has the default handlers: this ends the process, unless ignored.
        let _ = rustix::process::kill_process(rustix::process::getpid(), named);
    }
    let code = match signal {
        Some(signal) => 128 + signal,
        None => status.code().unwrap_or(1),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(u8::MAX))
}

#[cfg(not(unix))]
fn end_as(status: std::process::ExitStatus, _codes: Codes) -> ExitCode {
    ExitCode::from(
        status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(1),
    )
}

/// The kernel kills this process (and so the test it becomes) when the checker's thread that
/// started it exits. The runner starts tests from its one runtime thread, the main thread.
#[cfg(target_os = "linux")]
fn die_with_parent() -> Result<()> {
    use rustix::process::{set_parent_process_death_signal, Signal};
    set_parent_process_death_signal(Some(Signal::KILL))
        .context("cannot ask to die with the checker")?;
    // The checker may have died before the request: then we are already orphaned.
    if std::os::unix::process::parent_id() == 1 {
        bail!("the checker exited before its test started");
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent() -> Result<()> {
    Ok(())
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
        "the launcher runs only on Linux; {} is started directly elsewhere",
        program.to_string_lossy()
    )
}
