//! Every test runs on a paused clock (`start_paused = true`): a fake CDN "takes" its delay in
//! virtual time, which only moves when every task is idle and then jumps straight to the next
//! timer. So fetches of seconds each cost microseconds of real time, and the virtual time a
//! gallery takes shows whether its fetches overlapped.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spawn_independent_work::{fetch_gallery, Image};
use tokio::time::{sleep, timeout, Instant};

/// A gallery: each image's URL and how long the CDN takes to answer it, in milliseconds. A URL
/// may appear more than once (a logo or a spacer used twice on one page).
type Gallery = Vec<(String, u64)>;

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
    fn new(gallery: &[(String, u64)]) -> Arc<Self> {
        Arc::new(Cdn {
            delays: gallery
                .iter()
                .map(|(url, ms)| (url.clone(), Duration::from_millis(*ms)))
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

fn gallery(images: &[(&str, u64)]) -> Gallery {
    images
        .iter()
        .map(|&(url, ms)| (url.to_string(), ms))
        .collect()
}

/// `count` images with delays from `step` ms up to `count * step` ms, in a scrambled order, and
/// URLs that are not in alphabetical order either.
fn big_gallery(count: u64, step: u64) -> Gallery {
    (0..count)
        .map(|i| {
            let url = format!("/img/{}.jpg", (i * 7_919) % 10_007);
            let delay = ((i * 37 + 11) % count + 1) * step;
            (url, delay)
        })
        .collect()
}

fn slowest(gallery: &[(String, u64)]) -> Duration {
    Duration::from_millis(gallery.iter().map(|&(_, ms)| ms).max().unwrap_or(0))
}

/// Fetches the gallery through a fresh CDN; returns the images, the virtual time it took, and the
/// CDN. Waits for as long as every fetch one after another would take, and then some: a gallery
/// that is slow still returns, only one that is stuck fails here.
async fn fetch(gallery: &[(String, u64)]) -> (Vec<Image>, Duration, Arc<Cdn>) {
    let cdn = Cdn::new(gallery);
    let urls: Vec<String> = gallery.iter().map(|(url, _)| url.clone()).collect();
    let one_after_another: u64 = gallery.iter().map(|&(_, ms)| ms).sum();
    let patience = Duration::from_millis(one_after_another) + Duration::from_secs(60);

    let start = Instant::now();
    let images = timeout(patience, fetch_gallery(urls, cdn.fetcher()))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "fetch_gallery of {} images had not returned after {patience:?} of virtual time, \
                 longer than all its fetches take one after another: it is stuck, waiting for \
                 something that never happens",
                gallery.len()
            )
        });
    (images, start.elapsed(), cdn)
}

fn assert_one_image_per_url(what: &str, gallery: &[(String, u64)], images: &[Image]) {
    assert!(
        images.len() == gallery.len(),
        "{what}: expected {} images, one per URL, got {}: fetch_gallery returned before every \
         fetch had finished, or lost some images on the way",
        gallery.len(),
        images.len()
    );
}

/// Checks that the gallery's duration is that of its slowest fetch: every fetch was in flight
/// at once.
fn assert_as_long_as_the_slowest(
    what: &str,
    gallery: &[(String, u64)],
    elapsed: Duration,
    cdn: &Cdn,
) {
    let slowest = slowest(gallery);
    let peak = cdn.peak_in_flight();
    let n = gallery.len();
    assert!(
        elapsed <= slowest + slowest / 10,
        "{what}: the gallery took {:.1} s of virtual time, although its slowest fetch takes \
         {:.1} s, and at most {peak} of its {n} fetches were in flight at once: {}. Independent \
         fetches should all be in flight together, so a gallery takes about as long as its \
         slowest image",
        elapsed.as_secs_f64(),
        slowest.as_secs_f64(),
        if peak <= 1 {
            "they ran one after another, not concurrently"
        } else if peak < n {
            "some fetches only started once others had finished"
        } else {
            "the fetches overlapped, yet fetch_gallery waited longer than any of them"
        }
    );
}

fn assert_in_url_order(what: &str, gallery: &[(String, u64)], images: &[Image], cdn: &Cdn) {
    let got: Vec<&str> = images.iter().map(|image| image.url.as_str()).collect();
    let expected: Vec<&str> = gallery.iter().map(|(url, _)| url.as_str()).collect();
    if got != expected {
        let finished = cdn.finished();
        let first_wrong = got
            .iter()
            .zip(&expected)
            .position(|(got, expected)| got != expected)
            .unwrap_or(got.len().min(expected.len()));
        panic!(
            "{what}: the page lays the images out in the order of the URLs, so fetch_gallery \
             must return them in that order, one per URL even when a URL appears twice. The \
             first difference is at position {first_wrong}: expected {:?}, got {:?}{}",
            expected.get(first_wrong),
            got.get(first_wrong),
            if got == finished {
                ". The images came back in the order in which the fetches finished: whoever \
                 finishes first comes first"
            } else {
                ""
            }
        );
    }
    for image in images {
        assert!(
            image.bytes == bytes_of(&image.url),
            "{what}: the image for {} holds another URL's data",
            image.url
        );
    }
}

#[tokio::test(start_paused = true)]
async fn fetches_run_concurrently() {
    let gallery = gallery(&[
        ("/img/1.jpg", 1_000),
        ("/img/2.jpg", 1_000),
        ("/img/3.jpg", 1_000),
        ("/img/4.jpg", 1_000),
        ("/img/5.jpg", 1_000),
    ]);

    let (images, elapsed, cdn) = fetch(&gallery).await;

    let what = "five images of 1 s each";
    assert_one_image_per_url(what, &gallery, &images);
    assert_as_long_as_the_slowest(what, &gallery, elapsed, &cdn);
}

#[tokio::test(start_paused = true)]
async fn images_come_back_in_url_order() {
    // The slowest first: fetches that overlap finish in a different order than they start.
    let gallery = gallery(&[
        ("/img/hero.jpg", 900),
        ("/img/a.jpg", 100),
        ("/img/b.jpg", 600),
        ("/img/c.jpg", 300),
        ("/img/d.jpg", 800),
        ("/img/e.jpg", 200),
    ]);

    let (images, _, cdn) = fetch(&gallery).await;

    let what = "six images, the slowest first";
    assert_one_image_per_url(what, &gallery, &images);
    assert_in_url_order(what, &gallery, &images, &cdn);
}

#[tokio::test(start_paused = true)]
async fn every_gallery_takes_as_long_as_its_slowest_image() {
    let galleries = [
        ("one image of 2.5 s", gallery(&[("/img/solo.jpg", 2_500)])),
        ("30 images of 0.1 s to 3 s", big_gallery(30, 100)),
        ("100 images of 45 ms to 4.5 s", big_gallery(100, 45)),
    ];
    for (what, gallery) in &galleries {
        let (images, elapsed, cdn) = fetch(gallery).await;

        assert_one_image_per_url(what, gallery, &images);
        assert_as_long_as_the_slowest(what, gallery, elapsed, &cdn);
    }
}

#[tokio::test(start_paused = true)]
async fn every_gallery_returns_one_image_per_url_in_order() {
    let galleries = [
        ("one image", gallery(&[("/img/solo.jpg", 700)])),
        (
            "a page that shows its logo three times",
            gallery(&[
                ("/img/logo.png", 300),
                ("/img/teaser.jpg", 100),
                ("/img/logo.png", 300),
                ("/img/banner.jpg", 200),
                ("/img/logo.png", 300),
            ]),
        ),
        ("100 images of 45 ms to 4.5 s", big_gallery(100, 45)),
    ];
    for (what, gallery) in &galleries {
        let (images, _, cdn) = fetch(gallery).await;

        assert_one_image_per_url(what, gallery, &images);
        assert_in_url_order(what, gallery, &images, &cdn);
    }
}
