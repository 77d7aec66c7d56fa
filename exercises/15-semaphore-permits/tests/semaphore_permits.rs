//! Every test runs on a paused clock (`start_paused = true`): a download "takes" its duration in
//! virtual time, so a batch costs microseconds of real time and elapsed times are exact.
//!
//! The fake gateway counts the downloads running at once (started, not yet finished) and records
//! the peak. Downloads take 1 s each, or, in some batches, from 1 s to 4 s depending on the file.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use semaphore_permits::{Download, Mirror};
use tokio::time::{sleep, timeout, Instant};

/// The connections the gateway allows the mirror in most tests.
const CONNECTIONS: usize = 4;
/// Far longer than any batch in these tests takes, even one file at a time (35 s).
const PATIENCE: Duration = Duration::from_secs(120);

/// How long a file takes to download: 1 s in a `steady` batch; in a `mixed` batch, from 1 s to
/// 4 s depending on the file's number.
fn duration(path: &str) -> Duration {
    let number: u64 = path
        .rsplit("file-")
        .next()
        .and_then(|rest| rest.strip_suffix(".bin"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the gateway got a request for an unknown file {path:?}"));
    if path.starts_with("/mixed") {
        Duration::from_secs([1, 3, 1, 2, 1, 1, 4, 1][number as usize % 8])
    } else {
        Duration::from_secs(1)
    }
}

/// A fake storage gateway that records how many downloads run at once.
#[derive(Default)]
struct Gateway {
    running: AtomicUsize,
    peak: AtomicUsize,
}

/// Counts one download as running until dropped (finished, or cancelled).
struct Running<'a>(&'a AtomicUsize);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Gateway {
    async fn download(&self, path: String) -> usize {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let _running = Running(&self.running);

        sleep(duration(&path)).await;
        size(&path)
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }
}

/// The fake size of a file, different for every path.
fn size(path: &str) -> usize {
    100 * path.len() + path.bytes().map(usize::from).sum::<usize>()
}

type Fetch = Pin<Box<dyn Future<Output = usize> + Send>>;

/// The `fetch` function handed to the mirror: one download from the fake gateway.
fn client(gateway: &Arc<Gateway>) -> impl Fn(String) -> Fetch + Clone + Send + Sync + 'static {
    let gateway = Arc::clone(gateway);
    move |path: String| {
        let gateway = Arc::clone(&gateway);
        Box::pin(async move { gateway.download(path).await })
    }
}

/// `files` paths of a batch. A batch whose name starts with "mixed" has downloads of 1 s to 4 s.
fn paths(batch: &str, files: usize) -> Vec<String> {
    (0..files)
        .map(|i| format!("/{batch}/file-{i:02}.bin"))
        .collect()
}

/// How long `paths` take over `connections` connections when each download starts, in order,
/// as soon as a connection is free: a sliding window.
fn sliding_window(paths: &[String], connections: usize) -> Duration {
    let mut free_at = vec![Duration::ZERO; connections];
    for path in paths {
        let earliest = free_at.iter_mut().min().expect("at least one connection");
        *earliest += duration(path);
    }
    free_at.into_iter().max().unwrap_or_default()
}

/// Downloads `files` files of `batch`, checks that each one arrived exactly once with the right
/// size, and returns how long it took.
async fn download<F, Fut>(mirror: &Mirror<F>, batch: &str, files: usize) -> Duration
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = usize> + Send + 'static,
{
    let paths = paths(batch, files);
    let start = Instant::now();
    let mut downloads = timeout(PATIENCE, mirror.download_all(paths.clone()))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "download_all({files} files of batch {batch:?}) had not returned after \
                 {PATIENCE:?} of virtual time, although no download takes more than 4 s: its \
                 tasks are waiting for a connection that is not given back (a permit kept past \
                 its download, or leaked, does not return to the semaphore in time)"
            )
        });
    let elapsed = start.elapsed();

    downloads.sort_by(|a, b| a.path.cmp(&b.path));
    let expected: Vec<Download> = paths
        .into_iter()
        .map(|path| Download {
            bytes: size(&path),
            path,
        })
        .collect();
    assert_eq!(
        downloads, expected,
        "download_all must return one Download per path, with the size the gateway sent"
    );
    elapsed
}

#[tokio::test(start_paused = true)]
async fn at_most_max_connections_downloads_at_once() {
    // (connections, batch, files)
    for (connections, batch, files) in [
        (CONNECTIONS, "steady", 20),
        (CONNECTIONS, "mixed", 20),
        (2, "steady", 9),
        (3, "mixed", 10),
        (1, "mixed", 5),
    ] {
        let gateway = Arc::new(Gateway::default());
        let mirror = Mirror::new(connections, client(&gateway));

        download(&mirror, batch, files).await;

        let peak = gateway.peak();
        assert!(
            peak <= connections,
            "{peak} downloads ran at the same time, but the mirror has only {connections} \
             connection(s) ({files} files, batch {batch:?}): downloads got past the semaphore \
             while no connection was free, so a permit went back to the semaphore before its \
             download was over"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn two_batches_at_once_share_the_connections() {
    let gateway = Arc::new(Gateway::default());
    let mirror = Mirror::new(CONNECTIONS, client(&gateway));

    // Two jobs use the same mirror at the same time: together they get its 4 connections.
    let (first, second) = tokio::join!(
        download(&mirror, "steady-a", 10),
        download(&mirror, "mixed-b", 10)
    );

    let peak = gateway.peak();
    assert!(
        peak <= CONNECTIONS,
        "two batches of 10 ran at once on one mirror with {CONNECTIONS} connections, and {peak} \
         downloads ran at the same time (the batches took {first:?} and {second:?}): the two \
         batches together must stay within the mirror's connections. A limit that each call \
         keeps for itself lets two calls use twice as many"
    );
    let idle = mirror.idle_connections();
    assert_eq!(
        idle, CONNECTIONS,
        "after both batches finished, only {idle} of {CONNECTIONS} connections were free again"
    );
}

#[tokio::test(start_paused = true)]
async fn every_connection_is_free_again_afterwards() {
    let gateway = Arc::new(Gateway::default());
    let mirror = Mirror::new(CONNECTIONS, client(&gateway));

    // Fewer files than connections, so even a mirror that leaks permits finishes this batch.
    download(&mirror, "small", 3).await;
    let idle = mirror.idle_connections();
    assert_eq!(
        idle, CONNECTIONS,
        "after all 3 downloads finished, only {idle} of {CONNECTIONS} connections were free \
         again: the permits of the finished downloads never went back to the semaphore \
         (leaked), so every batch leaves the mirror fewer connections until it stalls"
    );

    download(&mirror, "large", 20).await;
    let idle = mirror.idle_connections();
    assert_eq!(
        idle, CONNECTIONS,
        "after a batch of 20 downloads finished, {idle} of {CONNECTIONS} connections are free: \
         some permits were never given back to the semaphore"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_batch_gives_its_connections_back() {
    let gateway = Arc::new(Gateway::default());
    let mirror = Mirror::new(CONNECTIONS, client(&gateway));

    // The job gives up on a batch of 20 (5 s of work) after 1.5 s, in the middle of downloads.
    let gave_up = timeout(
        Duration::from_millis(1500),
        mirror.download_all(paths("cancelled", 20)),
    )
    .await;
    assert!(
        gave_up.is_err(),
        "a batch of 20 downloads of 1 s over {CONNECTIONS} connections finished within 1.5 s: \
         it cannot have stayed within its connections"
    );
    // Let the runtime finish dropping what was cancelled.
    sleep(Duration::from_millis(1)).await;

    let running = gateway.running();
    assert_eq!(
        running, 0,
        "download_all was cancelled (its caller gave up after 1.5 s), yet {running} of its \
         downloads were still running afterwards: tasks that outlive the call keep using the \
         gateway for a batch nobody wants any more"
    );
    let idle = mirror.idle_connections();
    assert_eq!(
        idle, CONNECTIONS,
        "download_all was cancelled in the middle of its downloads, and afterwards only {idle} \
         of {CONNECTIONS} connections were free: a connection must be given back however its \
         download ends, cancelled included, or each cancelled batch costs the mirror \
         connections for good"
    );

    // The mirror is as good as new: 8 more files take 2 s over all 4 connections.
    let elapsed = download(&mirror, "next", 8).await;
    assert!(
        elapsed <= Duration::from_secs(2),
        "after a cancelled batch, 8 downloads of 1 s over {CONNECTIONS} connections took \
         {elapsed:?}; with every connection free again they take 2 s"
    );
}

#[tokio::test(start_paused = true)]
async fn downloads_use_every_connection() {
    for (batch, files) in [("steady", 20), ("mixed", 20)] {
        let gateway = Arc::new(Gateway::default());
        let mirror = Mirror::new(CONNECTIONS, client(&gateway));

        let elapsed = download(&mirror, batch, files).await;

        let peak = gateway.peak();
        assert!(
            peak >= CONNECTIONS,
            "at most {peak} download(s) ran at the same time, although the mirror has \
             {CONNECTIONS} connections: the downloads are limited more than they need to be"
        );
        let window = sliding_window(&paths(batch, files), CONNECTIONS);
        assert!(
            elapsed <= window,
            "{files} downloads (batch {batch:?}) over {CONNECTIONS} connections took {elapsed:?} \
             of virtual time; starting each download as soon as a connection is free takes \
             {window:?}: connections sat idle while files were waiting"
        );
    }
}
