//! Every test runs on a paused clock (`start_paused = true`): a fake CDN "takes" its delay in
//! virtual time, which only moves when every task is idle and then jumps straight to the next
//! timer. So fetches of a second each cost microseconds of real time, and the virtual time a
//! gallery takes shows whether its fetches overlapped.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spawn_independent_work::{fetch_gallery, Image};
use tokio::time::{sleep, timeout, Instant};

/// Far longer than any gallery here takes, even one fetch after another.
const PATIENCE: Duration = Duration::from_secs(60);

/// A fake CDN: each URL answers after its own delay. It counts the fetches in flight and records
/// the order in which they finished.
struct Cdn {
    delays: HashMap<String, Duration>,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
    finished: Mutex<Vec<String>>,
}

type Fetch = Pin<Box<dyn Future<Output = Vec<u8>> + Send>>;

impl Cdn {
    fn new(images: &[(&str, u64)]) -> Arc<Self> {
        Arc::new(Cdn {
            delays: images
                .iter()
                .map(|&(url, ms)| (url.to_string(), Duration::from_millis(ms)))
                .collect(),
            in_flight: AtomicUsize::new(0),
            peak_in_flight: AtomicUsize::new(0),
            finished: Mutex::new(Vec::new()),
        })
    }

    /// The function `fetch_gallery` calls for each URL.
    fn fetcher(self: &Arc<Self>) -> impl Fn(String) -> Fetch + Clone + Send + 'static {
        let cdn = Arc::clone(self);
        move |url: String| {
            let cdn = Arc::clone(&cdn);
            Box::pin(async move {
                let now = cdn.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                cdn.peak_in_flight.fetch_max(now, Ordering::SeqCst);
                sleep(cdn.delays[&url]).await;
                cdn.in_flight.fetch_sub(1, Ordering::SeqCst);
                cdn.finished.lock().unwrap().push(url.clone());
                bytes_of(&url)
            })
        }
    }

    fn peak_in_flight(&self) -> usize {
        self.peak_in_flight.load(Ordering::SeqCst)
    }

    fn finished(&self) -> Vec<String> {
        self.finished.lock().unwrap().clone()
    }
}

/// What the CDN returns for a URL.
fn bytes_of(url: &str) -> Vec<u8> {
    format!("image data of {url}").into_bytes()
}

fn urls(images: &[(&str, u64)]) -> Vec<String> {
    images.iter().map(|&(url, _)| url.to_string()).collect()
}

async fn fetch_gallery_within_patience(urls: Vec<String>, cdn: &Arc<Cdn>) -> Vec<Image> {
    let count = urls.len();
    timeout(PATIENCE, fetch_gallery(urls, cdn.fetcher()))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "fetch_gallery of {count} images had not returned after {PATIENCE:?} of virtual \
                 time, although no fetch takes more than 1 s: it is stuck"
            )
        })
}

#[tokio::test(start_paused = true)]
async fn fetches_run_concurrently() {
    const GALLERY: &[(&str, u64)] = &[
        ("/img/1.jpg", 1_000),
        ("/img/2.jpg", 1_000),
        ("/img/3.jpg", 1_000),
        ("/img/4.jpg", 1_000),
        ("/img/5.jpg", 1_000),
    ];
    let cdn = Cdn::new(GALLERY);

    let start = Instant::now();
    let images = fetch_gallery_within_patience(urls(GALLERY), &cdn).await;
    let elapsed = start.elapsed();

    assert!(
        images.len() == GALLERY.len(),
        "expected {} images, one per URL, got {}: fetch_gallery returned before every fetch had \
         finished (is every task awaited?)",
        GALLERY.len(),
        images.len()
    );
    let peak = cdn.peak_in_flight();
    assert!(
        elapsed < Duration::from_millis(1_500),
        "{} fetches of 1 s each took {:.1} s of virtual time, with at most {peak} in flight at \
         once: {}. Independent fetches should all be in flight together, so the gallery takes \
         about as long as one fetch (1 s)",
        GALLERY.len(),
        elapsed.as_secs_f64(),
        if peak <= 1 {
            "they ran one after another, not concurrently"
        } else {
            "some of them waited for others to finish"
        }
    );
}

#[tokio::test(start_paused = true)]
async fn images_come_back_in_url_order() {
    // The slowest first: fetches that overlap finish in a different order than they start.
    const GALLERY: &[(&str, u64)] = &[
        ("/img/hero.jpg", 900),
        ("/img/a.jpg", 100),
        ("/img/b.jpg", 600),
        ("/img/c.jpg", 300),
        ("/img/d.jpg", 800),
        ("/img/e.jpg", 200),
    ];
    let cdn = Cdn::new(GALLERY);

    let images = fetch_gallery_within_patience(urls(GALLERY), &cdn).await;

    let got: Vec<&str> = images.iter().map(|image| image.url.as_str()).collect();
    let expected: Vec<&str> = GALLERY.iter().map(|&(url, _)| url).collect();
    let finished = cdn.finished();
    assert!(
        got.len() == expected.len(),
        "expected {} images, one per URL, got {}: {got:?}. fetch_gallery returned before every \
         fetch had finished (is every task awaited?)",
        expected.len(),
        got.len()
    );
    assert!(
        got == expected,
        "the page lays the images out in the order of the URLs, so fetch_gallery must return \
         them in that order: expected {expected:?}, got {got:?}{}",
        if got == finished {
            ". That is the order in which the fetches finished: whoever finishes first pushes \
             first"
        } else {
            ""
        }
    );
    for image in &images {
        assert_eq!(
            image.bytes,
            bytes_of(&image.url),
            "the image for {} holds another URL's data",
            image.url
        );
    }
}
