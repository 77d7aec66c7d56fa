//! Rejected: puts the images back in order by looking them up by URL, so a URL that appears twice on a page gets one image instead of two.
//! Fails: every_gallery_returns_one_image_per_url_in_order
//! Fetch the images of a gallery page.
//!
//! Bug report: "A gallery page with 30 images takes half a minute to load. The CDN answers each
//! image request within about a second, and the fetches are spawned as tasks, so they should
//! run in parallel. Yet a page with 30 images takes 30 times as long as a page with one."

use std::collections::HashMap;
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
    // One task per image, all spawned before any is awaited; each returns its own image.
    let mut tasks = tokio::task::JoinSet::new();
    for url in urls.iter().cloned() {
        let fetch = fetch.clone();
        tasks.spawn(async move {
            let bytes = fetch(url.clone()).await;
            Image { url, bytes }
        });
    }

    // They finish in any order: look each one up by its URL to put them back in page order.
    let mut by_url = HashMap::new();
    while let Some(finished) = tasks.join_next().await {
        let image = finished.expect("a fetch task panicked");
        by_url.insert(image.url.clone(), image);
    }
    urls.iter().filter_map(|url| by_url.remove(url)).collect()
}
