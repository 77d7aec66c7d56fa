//! Rejected: forgets the permit and gives the connection back by hand after the download, so a download that is cancelled never gives it back
//! Fails: a_cancelled_batch_gives_its_connections_back
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
            let connections = Arc::clone(&self.connections);
            let fetch = self.fetch.clone();
            tasks.spawn(async move {
                // Take the connection for the whole download, and give it back once done.
                connections
                    .acquire()
                    .await
                    .expect("the connection semaphore is never closed")
                    .forget();
                let bytes = fetch(path.clone()).await;
                connections.add_permits(1);
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
