//! Accepted: no tasks at all: `futures::future::join_all` polls every fetch on this task at once and keeps the order of `urls`.
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
    // The fetches are I/O: they need no task of their own to overlap. `join_all` polls them all
    // together and returns their results in the order of `urls`.
    let fetches = urls.into_iter().map(|url| {
        let fetch = fetch.clone();
        async move {
            let bytes = fetch(url.clone()).await;
            Image { url, bytes }
        }
    });
    futures::future::join_all(fetches).await
}
