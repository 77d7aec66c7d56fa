//! The command line, as clap sees it.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

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
        /// Bring your code back instead: your newest backup, or backup N as --list numbers them
        #[arg(long, value_name = "N", conflicts_with = "list")]
        undo: Option<Option<usize>>,
        /// List the kata's backups, newest first
        #[arg(long)]
        list: bool,
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
    /// For instructors: grade a folder of student submissions
    Grade(Box<GradeArgs>),
    /// For instructors: merge the results of graded shards into one gradebook
    MergeGrades {
        /// The --out folders of the shards
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        #[arg(long, default_value = "grades")]
        out: PathBuf,
    },
    /// For instructors: open a workshop room with a live dashboard of every learner
    /// (`cargo kata serve --help` for its options)
    #[command(disable_help_flag = true)]
    Serve {
        /// The room server's arguments: --listen, --code, --db, --unlock-through, --help
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Report your results to a workshop room, in the background, from now on
    Join {
        /// The room's address, as `serve` printed it (http://HOST:PORT)
        url: String,
        /// The room code the instructor gave
        #[arg(long)]
        code: String,
        /// The name the instructor sees on the dashboard
        #[arg(long)]
        name: String,
    },
    /// Stop reporting to the workshop room
    Leave,
    /// Check this machine is ready for a workshop: toolchain, offline dependencies, first build
    Doctor {
        /// Only check that the first build is done; do not build
        #[arg(long)]
        no_build: bool,
    },
    /// Prepare the repository to work with no network: vendor every dependency, point cargo at them
    Offline {
        /// Point cargo back at crates.io (the vendor/ folder is left in place)
        #[arg(long)]
        undo: bool,
    },
    /// Sends the learner's latest results to the room; started in the background by the checker
    #[command(name = "__room-sync", hide = true)]
    RoomSync,
}

#[derive(Debug, Args)]
pub struct GradeArgs {
    /// One folder per student, each a copy of the repository (or of its exercises/)
    pub submissions: PathBuf,
    /// Where results.json, gradebook.csv, junit.xml and similarity.csv go
    #[arg(long, default_value = "grades")]
    pub out: PathBuf,
    /// Tests only the instructor has: HIDDEN/NN-slug/*.rs and HIDDEN/NN-slug/hidden.toml
    #[arg(long)]
    pub hidden: Option<PathBuf>,
    /// Grade only slice K of N of the class, for example 2/4
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// Only this kata (repeat for more; default: all)
    #[arg(long = "kata")]
    pub katas: Vec<String>,
    /// SUBMISSIONS is one student's submission, not a folder of them
    #[arg(long)]
    pub single: bool,
    /// Also write Gradescope's results.json for the (single) submission to this path
    #[arg(long)]
    pub gradescope: Option<PathBuf>,
    /// When Gradescope shows students the tests from --hidden
    #[arg(long, value_enum, default_value = "hidden")]
    pub hidden_visibility: HiddenVisibility,
    /// Also write the (single) submission's per-test points for GitHub Classroom's autograding
    /// reporter to this path (JSON; the workflow passes it on base64-encoded)
    #[arg(long)]
    pub classroom: Option<PathBuf>,
    /// Seconds of test time one submission may use in all
    #[arg(long, default_value_t = 300)]
    pub time_limit: u64,
    /// Megabytes of memory one test process may use
    #[arg(long, default_value_t = 1024)]
    pub memory_limit: u64,
    /// Seconds one submission's build may take; past it, its katas count as not compiling
    #[arg(long, default_value_t = 300)]
    pub build_time_limit: u64,
    /// Kilobytes of output kept per test and stream
    #[arg(long, default_value_t = 64)]
    pub output_cap: usize,
    /// Lay out the students' workspaces here and keep them (default: a temporary folder outside
    /// the repository, removed at the end)
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Build and run students' code without confinement: only inside a throwaway VM or container
    #[arg(long)]
    pub unconfined: bool,
}

/// Gradescope's visibility settings that keep a test from students (until a date, or until
/// the grades are published).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HiddenVisibility {
    Hidden,
    #[value(name = "after_due_date")]
    AfterDueDate,
    #[value(name = "after_published")]
    AfterPublished,
}

impl HiddenVisibility {
    /// The value Gradescope's results.json takes.
    #[cfg(feature = "grading")]
    pub fn gradescope(self) -> &'static str {
        match self {
            HiddenVisibility::Hidden => "hidden",
            HiddenVisibility::AfterDueDate => "after_due_date",
            HiddenVisibility::AfterPublished => "after_published",
        }
    }
}

fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let parsed = text
        .split_once('/')
        .and_then(|(k, n)| Some((k.parse().ok()?, n.parse().ok()?)));
    match parsed {
        Some((k, n)) if k >= 1 && k <= n => Ok((k, n)),
        _ => Err(format!(
            "`{text}` is not a shard: write K/N with 1 <= K <= N, for example 2/4"
        )),
    }
}
