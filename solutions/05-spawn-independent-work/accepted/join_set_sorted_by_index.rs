//! Accepted: a JoinSet of tasks that return `(index, image)`, collected as they finish and sorted back into page order.
//! Fetch the images of a gallery page.
//!
//! Bug report: "A gallery page with 30 images takes half a minute to load. The CDN answers each
//! image request within about a second, and the fetches are spawned as tasks, so they should
//! run in parallel. Yet a page with 30 images takes 30 times as long as a page with one."

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
    // One task per image in a JoinSet; each remembers its place on the page, so the images can
    // be put back in order whatever order they finish in.
    let mut tasks = tokio::task::JoinSet::new();
    for (index, url) in urls.into_iter().enumerate() {
        let fetch = fetch.clone();
        tasks.spawn(async move {
            let bytes = fetch(url.clone()).await;
            (index, Image { url, bytes })
        });
    }

    let mut images = Vec::with_capacity(tasks.len());
    while let Some(finished) = tasks.join_next().await {
        images.push(finished.expect("a fetch task panicked"));
    }
    images.sort_by_key(|&(index, _)| index);
    images.into_iter().map(|(_, image)| image).collect()
}
