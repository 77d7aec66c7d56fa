//! Rejected: a limit of eight fetches at a time: a gallery of more than eight images takes several rounds instead of one.
//! Fails: every_gallery_takes_as_long_as_its_slowest_image
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
    use futures::stream::{self, StreamExt};

    // Fetch concurrently, but go easy on the CDN: eight images at a time, kept in order.
    stream::iter(urls)
        .map(|url| {
            let fetch = fetch.clone();
            async move {
                let bytes = fetch(url.clone()).await;
                Image { url, bytes }
            }
        })
        .buffered(8)
        .collect()
        .await
}
