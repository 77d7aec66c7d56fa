//! Rejected: the tasks are detached and fetch_gallery sleeps for as long as images usually take, then returns whatever has arrived.
//! Fails: fetches_run_concurrently, every_gallery_takes_as_long_as_its_slowest_image, every_gallery_returns_one_image_per_url_in_order
//! Fetch the images of a gallery page.
//!
//! Bug report: "A gallery page with 30 images takes half a minute to load. The CDN answers each
//! image request within about a second, and the fetches are spawned as tasks, so they should
//! run in parallel. Yet a page with 30 images takes 30 times as long as a page with one."

use std::future::Future;
use std::sync::{Arc, Mutex};

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
    // One slot per image, filled by its own task, so the order is right.
    let slots = Arc::new(Mutex::new(vec![None; urls.len()]));

    for (index, url) in urls.into_iter().enumerate() {
        let slots = Arc::clone(&slots);
        let fetch = fetch.clone();
        tokio::spawn(async move {
            let bytes = fetch(url.clone()).await;
            slots.lock().unwrap()[index] = Some(Image { url, bytes });
        });
    }
    // The CDN answers each image within about a second: give the fetches that long, and a bit.
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;

    let images = slots
        .lock()
        .unwrap()
        .iter_mut()
        .filter_map(Option::take)
        .collect();
    images
}
