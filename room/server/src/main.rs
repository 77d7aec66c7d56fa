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
    /// Lock every kata after this one (by its number) until the dashboard unlocks more
    #[arg(long)]
    pub unlock_through: Option<u32>,
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
