//! The command line, as clap sees it.

use clap::{Parser, Subcommand};

/// Learn production async Rust by fixing broken katas.
#[derive(Debug, Parser)]
#[command(name = "cargo kata", bin_name = "cargo kata", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Re-run the current kata on every save and move on when it passes (the default)
    Watch {
        /// Start with this kata instead of the current one
        kata: Option<String>,
    },
    /// Every kata in order, with its status and points
    List {
        #[arg(long)]
        json: bool,
    },
    /// Build and test a kata (default: the current one)
    Run {
        kata: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show the next hint for a kata
    Hint { kata: Option<String> },
    /// Show the reference solution as a diff against your code
    Solution {
        kata: Option<String>,
        /// Do not ask for confirmation before the kata passes
        #[arg(long)]
        yes: bool,
    },
    /// Restore a kata's original code; yours is kept as a backup
    Reset {
        kata: Option<String>,
        /// Bring back the code from the newest backup instead
        #[arg(long)]
        undo: bool,
    },
    /// Katas done, points, hints used and solutions revealed
    Progress {
        #[arg(long)]
        json: bool,
    },
    /// For authors and CI: every untouched kata fails as its metadata says, every solution passes
    Verify {
        /// Only these katas (default: all)
        katas: Vec<String>,
        #[arg(long)]
        json: bool,
        /// Run every kata and solution this many times, to find flaky tests
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        repeat: u32,
    },
}
