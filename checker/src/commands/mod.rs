//! One module per command; this one holds what they share: the opened repository.

mod doctor;
#[cfg(feature = "grading")]
mod grade;
#[cfg(not(feature = "grading"))]
mod grader;
pub mod hint;
mod join;
pub mod list;
pub mod offline;
mod progress;
mod reset;
pub mod run;
mod serve;
mod solution;
mod verify;
mod watch;

use crate::cli::{Cli, Command};
use crate::kata::{Catalogue, Kata};
use crate::progress::{Progress, Store};
use crate::repo::Repo;
use crate::snapshots::Snapshots;
use crate::style;
use anyhow::Result;
use std::process::ExitCode;
use std::sync::Mutex;
use std::thread::JoinHandle;

pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    let command = cli.command.unwrap_or(Command::Watch { kata: None });
    // The background sync needs neither the catalogue's warnings nor snapshots, and the room's
    // server reads the catalogue itself.
    match command {
        Command::RoomSync => return join::sync_in_background(),
        Command::Serve { args } => return serve::serve(&args),
        _ => {}
    }
    let reports_to_room = !matches!(command, Command::Join { .. } | Command::Leave);
    let workspace = Workspace::open()?;
    let code = match command {
        Command::Watch { kata } => watch::watch(&workspace, kata.as_deref()),
        Command::List { json } => list::list(&workspace, json),
        Command::Run { kata, json } => run::run(&workspace, kata.as_deref(), json),
        Command::Hint { kata } => hint::hint(&workspace, kata.as_deref()),
        Command::Solution { kata, yes } => solution::solution(&workspace, kata.as_deref(), yes),
        Command::Reset { kata, undo, list } => {
            reset::reset(&workspace, kata.as_deref(), undo, list)
        }
        Command::Progress { json } => progress::progress(&workspace, json),
        Command::Verify {
            katas,
            json,
            repeat,
        } => verify::verify(&workspace, &katas, json, repeat),
        #[cfg(feature = "grading")]
        Command::Grade(args) => grade::grade(&workspace, &args),
        #[cfg(feature = "grading")]
        Command::MergeGrades { shards, out } => grade::merge(&shards, &out),
        #[cfg(not(feature = "grading"))]
        Command::Grade(_) | Command::MergeGrades { .. } => grader::run(&workspace.repo),
        Command::Join { url, code, name } => join::join(&workspace, &url, &code, &name),
        Command::Leave => join::leave(&workspace),
        Command::Doctor { no_build } => doctor::doctor(&workspace, no_build),
        Command::Offline { undo } => offline::offline(&workspace, undo),
        Command::RoomSync | Command::Serve { .. } => {
            unreachable!("handled before the workspace opens")
        }
    };
    // Whatever the command and however it ended, the first-contact snapshots must be complete
    // before we exit.
    workspace.snapshots()?;
    if reports_to_room {
        // Whatever the command changed reaches the room in the background.
        crate::room::sync::nudge(&workspace.repo, &workspace.store);
    }
    code
}

/// The repository a command works on, with its katas, progress and snapshots.
pub struct Workspace {
    pub repo: Repo,
    pub catalogue: Catalogue,
    pub store: Store,
    snapshots: Snapshots,
    /// Taking snapshots asks git, so it runs beside the command instead of before it.
    snapshotting: Mutex<Option<JoinHandle<Result<()>>>>,
}

impl Workspace {
    fn open() -> Result<Workspace> {
        let repo = Repo::discover()?;
        let catalogue = Catalogue::load(&repo)?;
        for (folder, why) in &catalogue.broken {
            style::warning(&format!("skipping {folder}: {why}"));
        }
        let snapshots = Snapshots::new(&repo);
        let snapshotting = std::thread::spawn({
            let (snapshots, katas) = (snapshots.clone(), catalogue.katas.clone());
            move || snapshots.ensure(&katas)
        });
        Ok(Workspace {
            store: Store::new(&repo),
            repo,
            catalogue,
            snapshots,
            snapshotting: Mutex::new(Some(snapshotting)),
        })
    }

    /// The snapshots of the shipped katas, once taking them has finished.
    pub fn snapshots(&self) -> Result<&Snapshots> {
        let pending = self
            .snapshotting
            .lock()
            .expect("never poisoned: nothing panics holding it")
            .take();
        if let Some(pending) = pending {
            pending
                .join()
                .map_err(|_| anyhow::anyhow!("taking snapshots of the katas failed"))??;
        }
        Ok(&self.snapshots)
    }

    /// The named kata, or the current one.
    pub fn kata(&self, name: Option<&str>) -> Result<&Kata> {
        match name {
            Some(name) => self.catalogue.resolve(name),
            None => Ok(self.current(&self.store.load()?)),
        }
    }

    /// Cargo cannot load the workspace, for any kata, while one kata's manifest or `src/lib.rs`
    /// is missing: say which, and how to get it back, instead of cargo's error about it.
    pub fn ensure_loadable(&self) -> Result<()> {
        for kata in &self.catalogue.katas {
            for file in ["Cargo.toml", "src/lib.rs"] {
                if !kata.exercise_dir.join(file).is_file() {
                    anyhow::bail!(
                        "exercises/{}/{file} is missing, and cargo cannot build any kata without it: \
                         `cargo kata reset {}` restores the kata's original code (what is left of \
                         yours is kept as a backup)",
                        kata.name,
                        kata.name
                    );
                }
            }
        }
        Ok(())
    }

    /// The kata the learner is on: the one recorded, else the first not done.
    pub fn current<'a>(&'a self, progress: &Progress) -> &'a Kata {
        let recorded = progress
            .current
            .as_deref()
            .and_then(|name| self.catalogue.get(name));
        recorded.unwrap_or_else(|| self.first_unfinished(progress, 0))
    }

    /// The first kata from position `from` on that is not done (wrapping around), or the last one.
    pub fn first_unfinished(&self, progress: &Progress, from: usize) -> &Kata {
        let katas = &self.catalogue.katas;
        (0..katas.len())
            .map(|i| &katas[(from + i) % katas.len()])
            .find(|k| !progress.kata(&k.name).status().is_done())
            .unwrap_or(&katas[katas.len() - 1])
    }
}

/// Runs `work` until it finishes or the checker is asked to stop. Dropping the work kills the
/// test processes and cargo with it (each runs in a group that dies with its handle), so nothing
/// is left running.
pub fn until_interrupted<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    runtime()?.block_on(async {
        tokio::select! {
            result = work => result,
            signal = interrupted() => anyhow::bail!("interrupted ({signal})"),
        }
    })
}

/// Resolves when the checker is asked to stop, with the signal's name: Ctrl-C; on Unix also
/// SIGTERM (a service manager, `kill`) and SIGHUP (the terminal was closed).
pub async fn interrupted() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let wait_for = |kind: SignalKind| async move {
            match signal(kind) {
                Ok(mut stream) => stream.recv().await,
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = wait_for(SignalKind::interrupt()) => "Ctrl-C",
            _ = wait_for(SignalKind::terminate()) => "SIGTERM",
            _ = wait_for(SignalKind::hangup()) => "SIGHUP",
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        "Ctrl-C"
    }
}

/// A runtime for the async parts (cargo, test processes): one thread is plenty for waiting.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
