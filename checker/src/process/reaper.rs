//! No survivors. While grading, the checker is the child subreaper of everything it starts: a
//! process a test detached (a double fork, `setsid`) is handed to the checker instead of init once
//! its parent is gone, and the checker kills it. Its own children are the process groups it
//! started (cargo, tests), registered here; any other child is such an orphan.

// Only Unix process groups register; Windows has job objects, which leave nothing behind.
#![cfg_attr(not(unix), allow(dead_code))]

use std::collections::BTreeSet;
use std::sync::Mutex;

static STARTED: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

pub fn started(pid: i32) {
    STARTED.lock().expect("never poisoned").insert(pid);
}

pub fn ended(pid: i32) {
    STARTED.lock().expect("never poisoned").remove(&pid);
}

/// Makes orphaned descendants this process's children from now on.
#[cfg(all(target_os = "linux", feature = "grading"))]
pub fn become_subreaper() -> anyhow::Result<()> {
    use anyhow::Context;
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
        .context("cannot become the subreaper of the processes grading starts")
}

#[cfg(all(not(target_os = "linux"), feature = "grading"))]
pub fn become_subreaper() -> anyhow::Result<()> {
    Ok(())
}

/// Kills (and reaps) every child of this process that it did not start itself; returns how many.
/// Repeats until none is left, since a dying orphan's own children come next.
#[cfg(target_os = "linux")]
pub fn kill_orphans() -> usize {
    use rustix::process::{kill_process, waitpid, Pid, Signal, WaitOptions};
    let mut killed = 0;
    for _ in 0..100 {
        let started = STARTED.lock().expect("never poisoned").clone();
        let orphans: Vec<i32> = children()
            .into_iter()
            .filter(|pid| !started.contains(pid))
            .collect();
        if orphans.is_empty() {
            break;
        }
        for pid in orphans {
            let Some(pid) = Pid::from_raw(pid) else {
                continue;
            };
            let _ = kill_process(pid, Signal::KILL);
            // Our child: nobody else reaps it. SIGKILL cannot be ignored, so this returns.
            let _ = waitpid(Some(pid), WaitOptions::empty());
            killed += 1;
        }
    }
    killed
}

#[cfg(not(target_os = "linux"))]
pub fn kill_orphans() -> usize {
    0
}

/// This process's children, from /proc.
#[cfg(target_os = "linux")]
fn children() -> Vec<i32> {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
            let after_comm = stat.rsplit_once(") ")?.1;
            let parent = after_comm.split_whitespace().nth(1)?;
            (parent == me).then_some(pid)
        })
        .collect()
}
