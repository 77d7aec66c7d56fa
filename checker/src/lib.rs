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
    if let Some(err) = launch::exec_if_asked() {
        style::print_error(&err);
        return exit::ERROR.into();
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
    closed_stdout::end_quietly(|| match commands::dispatch(args) {
        Ok(code) => code,
        Err(err) => {
            style::print_error(&err);
            exit::ERROR.into()
        }
    })
}

mod closed_stdout {
    //! `cargo kata list | head` closes stdout before the checker is done, and `println!` then
    //! panics. Nothing is wrong: end quietly, as Unix tools do when their reader goes away.

    use std::any::Any;
    use std::panic::{self, AssertUnwindSafe};
    use std::process::ExitCode;

    pub fn end_quietly(command: impl FnOnce() -> ExitCode) -> ExitCode {
        let report_panic = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            // The hook sees the message only through Display (`panicked at ...:\nmessage`).
            let shown = info.to_string();
            let message = shown.split_once('\n').map_or(shown.as_str(), |(_, m)| m);
            if !is_closed_stdout(message) {
                report_panic(info);
            }
        }));
        match panic::catch_unwind(AssertUnwindSafe(command)) {
            Ok(code) => code,
            Err(payload) if message(payload.as_ref()).is_some_and(is_closed_stdout) => {
                crate::exit::SUCCESS.into()
            }
            Err(payload) => panic::resume_unwind(payload),
        }
    }

    fn message(payload: &(dyn Any + Send)) -> Option<&str> {
        payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
    }

    /// std's own words when `print!` meets a closed pipe (EPIPE).
    fn is_closed_stdout(message: &str) -> bool {
        message.starts_with("failed printing to stdout")
            && message.to_lowercase().contains("broken pipe")
    }
}
