//! `kata-room`: the workshop room's server. Instructors start it with `cargo kata serve`, which
//! runs this binary from the kata repository.

mod serve;

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Open a workshop room: a live dashboard of every learner of this kata repository.
#[derive(Debug, Parser)]
#[command(name = "cargo kata serve", bin_name = "cargo kata serve", version)]
pub struct ServeArgs {
    /// Address and port to listen on; 0.0.0.0 lets the whole room reach it
    #[arg(long, default_value = "0.0.0.0:8700")]
    pub listen: SocketAddr,
    /// The code learners need to join and report (default: the room's stored code, else a new one)
    #[arg(long)]
    pub code: Option<String>,
    /// The room's database (default: .kata/room/room.db); the room survives restarts in it
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Make a new room in the database (which must not hold one yet); without it, the database
    /// must hold the room
    #[arg(long)]
    pub new_room: bool,
    /// A new room's pacing: lock every kata after this one (by its number) until the dashboard
    /// unlocks more. A reopened room keeps its stored pacing unless --replace-pacing is given
    #[arg(long)]
    pub unlock_through: Option<u32>,
    /// Replace a reopened room's stored pacing with --unlock-through (without it: open every kata)
    #[arg(long)]
    pub replace_pacing: bool,
    /// Issue a new instructor key; the old one stops working at once
    #[arg(long)]
    pub rotate_key: bool,
    /// The most learners the room takes
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_learners: u32,
    /// Joins one address may try per minute (in a burst, then spread out); 0 for no limit
    #[arg(long, default_value_t = 10)]
    pub joins_per_minute: u32,
}

fn main() -> ExitCode {
    let args = ServeArgs::parse();
    match serve::serve(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
