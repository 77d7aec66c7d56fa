//! Rejected: waits for a permit in the spawning loop but keeps it in the loop, where it is dropped at the end of the iteration, right after the spawn
//! Fails: at_most_max_connections_downloads_at_once, two_batches_at_once_share_the_connections
//! Mirror a batch of files from the storage gateway, one task per file.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// One downloaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub path: String,
    pub bytes: usize,
}

/// Downloads files through a limited number of connections.
pub struct Mirror<F> {
    fetch: F,
    /// One permit per connection the gateway allows us.
    connections: Arc<Semaphore>,
}

impl<F, Fut> Mirror<F>
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = usize> + Send + 'static,
{
    /// `fetch` downloads one file over one connection and resolves to its size in bytes.
    pub fn new(max_connections: usize, fetch: F) -> Self {
        Mirror {
            fetch,
            connections: Arc::new(Semaphore::new(max_connections)),
        }
    }

    /// How many connections are free right now.
    pub fn idle_connections(&self) -> usize {
        self.connections.available_permits()
    }

    /// Downloads every file, each in its own task, with at most `max_connections` downloads
    /// running at any moment. Returns one `Download` per path, in the order they finished.
    pub async fn download_all(&self, paths: Vec<String>) -> Vec<Download> {
        let mut tasks = JoinSet::new();
        for path in paths {
            // Wait for a free connection before starting the next download.
            let _permit = self
                .connections
                .acquire()
                .await
                .expect("the connection semaphore is never closed");
            let fetch = self.fetch.clone();
            tasks.spawn(async move {
                let bytes = fetch(path.clone()).await;
                Download { path, bytes }
            });
        }

        let mut downloads = Vec::new();
        while let Some(done) = tasks.join_next().await {
            downloads.push(done.expect("a download task panicked"));
        }
        downloads
    }
}
