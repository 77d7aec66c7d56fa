//! The kata checker: runs a kata's tests, tracks progress, gives hints and reveals solutions.

mod cargo;
mod cli;
mod commands;
mod events;
mod exit;
mod grading;
mod kata;
mod limits;
mod process;
mod progress;
mod repo;
mod report;
mod room;
mod runner;
mod snapshots;
mod style;
mod terminal;

use std::process::ExitCode;

fn main() -> ExitCode {
    if let Some(err) = limits::exec_if_asked() {
        style::print_error(&err);
        return exit::ERROR.into();
    }
    let args = <cli::Cli as clap::Parser>::parse();
    style::configure();
    match commands::dispatch(args) {
        Ok(code) => code,
        Err(err) => {
            style::print_error(&err);
            exit::ERROR.into()
        }
    }
}
