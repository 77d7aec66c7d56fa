//! Every test runs on a paused clock (`start_paused = true`): a download "takes" 1 s of virtual
//! time, so a batch costs microseconds of real time and elapsed times are exact.
//!
//! The fake gateway counts the downloads running at once (started, not yet finished) and records
//! the peak.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use semaphore_permits::{Download, Mirror};
use tokio::time::{sleep, timeout, Instant};

/// The connections the gateway allows the mirror.
const CONNECTIONS: usize = 4;
/// Every download takes this long.
const DOWNLOAD: Duration = Duration::from_secs(1);
/// Far longer than any batch in these tests takes, even one file at a time (20 s).
const PATIENCE: Duration = Duration::from_secs(60);

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

        sleep(DOWNLOAD).await;
        size(&path)
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
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

fn paths(batch: &str, files: usize) -> Vec<String> {
    (0..files)
        .map(|i| format!("/{batch}/file-{i:02}.bin"))
        .collect()
}

/// Downloads `files` files, checks that each one arrived exactly once with the right size, and
/// returns how long it took.
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
                "download_all({files} files, {CONNECTIONS} connections) had not returned after \
                 {PATIENCE:?} of virtual time, although each download takes 1 s: its tasks are \
                 waiting for a connection that is never given back (a permit that was leaked \
                 never returns to the semaphore)"
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
    let gateway = Arc::new(Gateway::default());
    let mirror = Mirror::new(CONNECTIONS, client(&gateway));

    download(&mirror, "batch", 20).await;

    let peak = gateway.peak();
    assert!(
        peak <= CONNECTIONS,
        "{peak} downloads ran at the same time, but the mirror has only {CONNECTIONS} \
         connections: every task got past the semaphore, so each permit went back to the \
         semaphore before its download even started"
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
async fn downloads_use_every_connection() {
    let gateway = Arc::new(Gateway::default());
    let mirror = Mirror::new(CONNECTIONS, client(&gateway));

    let elapsed = download(&mirror, "batch", 20).await;

    let peak = gateway.peak();
    assert!(
        peak >= CONNECTIONS,
        "at most {peak} download(s) ran at the same time, although the mirror has \
         {CONNECTIONS} connections: the downloads are limited more than they need to be"
    );
    assert!(
        elapsed <= 6 * DOWNLOAD,
        "20 downloads of 1 s over {CONNECTIONS} connections took {elapsed:?} of virtual time; \
         {CONNECTIONS} at a time they take 5 s: connections sat idle while files were waiting"
    );
}
