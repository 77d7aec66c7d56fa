//! Running one child process: its own process group (a job object on Windows), a timeout that
//! kills the whole group, and output capture with a cap so a flooding child cannot exhaust memory
//! or the terminal.

mod group;
pub mod reaper;

pub use group::Group;

use std::collections::VecDeque;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// How long a child gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_millis(200);
/// How long to wait for the pipes to close once the child is gone (a grandchild may hold them).
const DRAIN: Duration = Duration::from_millis(500);

pub struct Finished {
    pub status: Option<ExitStatus>,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
    pub duration: Duration,
}

/// Runs `cmd` to completion or until `timeout`, keeping at most about `cap` bytes of each stream.
/// Whatever the child started is killed with it when it ends, when it times out, and when this
/// future is dropped.
pub async fn run(mut cmd: Command, timeout: Duration, cap: usize) -> std::io::Result<Finished> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut group = Group::spawn(cmd)?;
    let stdout = tokio::spawn(read_capped(group.stdout(), cap));
    let stderr = tokio::spawn(read_capped(group.stderr(), cap));

    let (status, timed_out) = match tokio::time::timeout(timeout, group.wait()).await {
        Ok(status) => (Some(status?), false),
        Err(_) => {
            group.terminate();
            let status = match tokio::time::timeout(GRACE, group.wait()).await {
                Ok(status) => status.ok(),
                Err(_) => {
                    group.kill();
                    group.wait().await.ok()
                }
            };
            (status, true)
        }
    };
    let duration = started.elapsed();
    // Whatever the test left running in its group goes with it.
    group.end();

    Ok(Finished {
        status,
        timed_out,
        stdout: collect(stdout).await,
        stderr: collect(stderr).await,
        duration,
    })
}

async fn collect(reader: tokio::task::JoinHandle<String>) -> String {
    let abort = reader.abort_handle();
    match tokio::time::timeout(DRAIN, reader).await {
        Ok(Ok(text)) => text,
        _ => {
            abort.abort();
            String::from("[output unavailable: a process the test started kept the pipe open]")
        }
    }
}

/// Reads a stream to its end, keeping the first quarter of `cap` and the last three quarters:
/// the start shows what went wrong first, the end holds the test harness's verdict.
async fn read_capped(stream: Option<impl AsyncRead + Unpin>, cap: usize) -> String {
    let Some(mut stream) = stream else {
        return String::new();
    };
    let head_cap = cap / 4;
    let tail_cap = cap - head_cap;
    let mut head = Vec::new();
    let mut tail = VecDeque::new();
    let mut cut = 0usize;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut chunk = &buf[..n];
        if head.len() < head_cap {
            let take = chunk.len().min(head_cap - head.len());
            head.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
        }
        tail.extend(chunk);
        if tail.len() > tail_cap {
            let excess = tail.len() - tail_cap;
            tail.drain(..excess);
            cut += excess;
        }
    }
    let mut text = String::from_utf8_lossy(&head).into_owned();
    if cut > 0 {
        text.push_str(&format!("\n[... {cut} bytes of output cut ...]\n"));
    }
    text.push_str(&String::from_utf8_lossy(tail.make_contiguous()));
    text
}
