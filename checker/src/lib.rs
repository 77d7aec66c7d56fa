//! The kata checker: runs a kata's tests, tracks progress, gives hints and reveals solutions.
//!
//! A library with two thin programs: `checker`, what learners build, and `kata-grade`, the same
//! built with the `grading` feature, for instructors (see Cargo.toml).

#[macro_use]
mod screen;
mod backups;
mod cargo;
mod cli;
mod commands;
mod confine;
mod events;
mod exit;
#[cfg(feature = "grading")]
mod grading;
mod kata;
mod kept_fixes;
mod launch;
mod process;
mod progress;
mod repo;
mod report;
mod room;
mod runner;
mod sanitize;
mod scratch;
mod snapshots;
mod style;
mod terminal;

use std::process::ExitCode;

/// The whole program: the binaries' `main` calls this.
pub fn run() -> ExitCode {
    match launch::exec_if_asked() {
        None => {}
        Some(Ok(code)) => return code,
        Some(Err(err)) => {
            style::print_error(&err);
            return exit::ERROR.into();
        }
    }
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == confine::PROBE)
    {
        return match confine::probe() {
            Ok(()) => exit::SUCCESS.into(),
            Err(err) => {
                style::print_error(&err);
                exit::ERROR.into()
            }
        };
    }
    #[cfg(feature = "grading")]
    {
        let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
        if args
            .first()
            .is_some_and(|a| a == grading::review::REVIEW_CHILD)
        {
            return grading::review::review_child(&args[1..]);
        }
    }
    let args = <cli::Cli as clap::Parser>::parse();
    style::configure();
    // Output goes through `screen`, which a closed stdout (`| head`) cannot make panic.
    match commands::dispatch(args) {
        Ok(code) => code,
        Err(err) => {
            style::print_error(&err);
            exit::ERROR.into()
        }
    }
}
