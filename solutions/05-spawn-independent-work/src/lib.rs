//! Fetch the images of a gallery page: the reference solution.

use std::future::Future;

/// One image of the page, as the CDN returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub url: String,
    pub bytes: Vec<u8>,
}

/// Fetches every image of a gallery page and returns them in the order of `urls`: the page lays
/// them out in that order. The fetches do not depend on each other.
pub async fn fetch_gallery<F, Fut>(urls: Vec<String>, fetch: F) -> Vec<Image>
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Vec<u8>> + Send + 'static,
{
    // Start every fetch before waiting for any. A spawned task runs on its own; awaiting its
    // handle right after spawning it (as before) made each fetch wait for the previous one.
    let tasks: Vec<_> = urls
        .into_iter()
        .map(|url| {
            let fetch = fetch.clone();
            // Each task returns its own image through its JoinHandle: no shared Vec, no lock.
            tokio::spawn(async move {
                let bytes = fetch(url.clone()).await;
                Image { url, bytes }
            })
        })
        .collect();

    // Await the handles in the order the tasks were spawned, which is the order of `urls`,
    // whatever order the fetches finish in.
    let mut images = Vec::with_capacity(tasks.len());
    for task in tasks {
        images.push(task.await.expect("a fetch task panicked"));
    }
    images
}
