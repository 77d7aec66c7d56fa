//! Every test runs on a paused clock (`start_paused = true`): a fetch from the fake catalogue
//! "takes" 1 s of virtual time, so ten of them one after another would take 10 s of virtual time
//! and still only microseconds of real time. The fake counts every fetch, per key.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use single_flight::{Cache, Loader};
use tokio::time::{sleep, timeout, Instant};

/// How long one fetch from the fake catalogue takes.
const FETCH: Duration = Duration::from_secs(1);

/// Far longer than anything in these tests should take.
const PATIENCE: Duration = Duration::from_secs(60);

/// What a failed fetch from the fake catalogue reports.
const ROOT_CAUSE: &str = "503 Service Unavailable";

/// The fake catalogue: every fetch takes `FETCH` and is counted; a key marked with `fail_next`
/// fails its next fetch (once).
#[derive(Clone, Default)]
struct FakeCatalogue {
    fetches: Arc<Mutex<HashMap<String, usize>>>,
    fail_next: Arc<Mutex<HashSet<String>>>,
}

impl FakeCatalogue {
    fn fetches_of(&self, key: &str) -> usize {
        self.fetches.lock().unwrap().get(key).copied().unwrap_or(0)
    }

    fn fail_next(&self, key: &str) {
        self.fail_next.lock().unwrap().insert(key.to_owned());
    }
}

fn product(key: &str) -> String {
    format!("{{\"sku\":\"{key}\",\"name\":\"product {key}\"}}")
}

impl Loader for FakeCatalogue {
    async fn load(&self, key: &str) -> anyhow::Result<String> {
        *self
            .fetches
            .lock()
            .unwrap()
            .entry(key.to_owned())
            .or_default() += 1;
        sleep(FETCH).await;
        if self.fail_next.lock().unwrap().remove(key) {
            anyhow::bail!("catalogue answered {ROOT_CAUSE} for {key}");
        }
        Ok(product(key))
    }
}

/// Runs `fut` for at most `PATIENCE` of virtual time, so a get that is stuck fails the test at
/// once with a readable message instead of hanging.
async fn within_patience<T>(what: &str, fut: impl Future<Output = T>) -> T {
    timeout(PATIENCE, fut).await.unwrap_or_else(|_| {
        panic!(
            "{what} did not finish within 60 s of virtual time, although a fetch takes 1 s: \
             it is stuck"
        )
    })
}

/// One task per get, all started at once like concurrent requests; returns each get's result,
/// in the order of `keys`, and how much virtual time they took in all.
async fn concurrent_gets(
    cache: &Arc<Cache<FakeCatalogue>>,
    keys: &[String],
) -> (Vec<anyhow::Result<String>>, Duration) {
    let start = Instant::now();
    let tasks: Vec<_> = keys
        .iter()
        .map(|key| {
            let cache = Arc::clone(cache);
            let key = key.clone();
            tokio::spawn(async move { cache.get(&key).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("a get panicked"));
    }
    (results, start.elapsed())
}

#[tokio::test(start_paused = true)]
async fn ten_concurrent_gets_of_one_key_fetch_it_once() {
    let catalogue = FakeCatalogue::default();
    let cache = Arc::new(Cache::new(catalogue.clone()));
    let keys = vec!["sku-42".to_string(); 10];

    let (results, elapsed) = within_patience(
        "10 concurrent gets of sku-42",
        concurrent_gets(&cache, &keys),
    )
    .await;

    let fetches = catalogue.fetches_of("sku-42");
    assert_eq!(
        fetches, 1,
        "10 concurrent gets of sku-42 fetched it from the catalogue {fetches} times: every caller \
         checked the cache, found nothing (the first fetch was still on its way, 1 s long) and \
         fetched it itself. The first caller should fetch; the other 9 should wait for its result"
    );
    for (i, result) in results.iter().enumerate() {
        match result {
            Ok(value) => assert_eq!(
                value,
                &product("sku-42"),
                "get #{i} of sku-42 returned the wrong value"
            ),
            Err(err) => panic!("get #{i} of sku-42 failed although the fetch succeeded: {err:#}"),
        }
    }
    assert!(
        elapsed < FETCH + Duration::from_millis(500),
        "10 concurrent gets of sku-42 took {elapsed:?} of virtual time, but one fetch takes \
         {FETCH:?}: the callers that waited should get the value as soon as that fetch is done"
    );
}

#[tokio::test(start_paused = true)]
async fn different_keys_load_concurrently() {
    let catalogue = FakeCatalogue::default();
    let cache = Arc::new(Cache::new(catalogue.clone()));
    let keys: Vec<String> = (1..=10).map(|i| format!("sku-{i}")).collect();

    let (results, elapsed) = within_patience(
        "10 concurrent gets of 10 different keys",
        concurrent_gets(&cache, &keys),
    )
    .await;

    for (key, result) in keys.iter().zip(&results) {
        match result {
            Ok(value) => assert_eq!(
                value,
                &product(key),
                "get of {key} returned the wrong value"
            ),
            Err(err) => panic!("get of {key} failed although its fetch succeeded: {err:#}"),
        }
        let fetches = catalogue.fetches_of(key);
        assert_eq!(
            fetches, 1,
            "one get of {key} fetched it {fetches} times, expected once"
        );
    }
    assert!(
        elapsed < FETCH + Duration::from_millis(500),
        "10 concurrent gets of 10 different keys took {elapsed:?} of virtual time, with fetches of \
         {FETCH:?} each: the fetches ran one after another. A get must wait only for the fetch of \
         its own key, never for another key's, so no lock that covers every key may be held \
         across a fetch"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cached_key_is_served_from_memory() {
    let catalogue = FakeCatalogue::default();
    let cache = Cache::new(catalogue.clone());

    let first = within_patience("the first get of sku-7", cache.get("sku-7")).await;
    assert_eq!(
        first.as_deref().ok(),
        Some(product("sku-7").as_str()),
        "the first get of sku-7 returned {first:?}"
    );

    let start = Instant::now();
    for i in 2..=4 {
        let again = within_patience("a later get of sku-7", cache.get("sku-7")).await;
        assert_eq!(
            again.as_deref().ok(),
            Some(product("sku-7").as_str()),
            "get #{i} of sku-7 returned {again:?}"
        );
    }
    let elapsed = start.elapsed();

    let fetches = catalogue.fetches_of("sku-7");
    assert_eq!(
        fetches, 1,
        "4 gets of sku-7, one after another, fetched it {fetches} times: once it is loaded, it \
         should be served from memory"
    );
    assert!(
        elapsed < FETCH,
        "3 gets of the already loaded sku-7 took {elapsed:?} of virtual time: a cached value \
         should come back without waiting"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_fetch_is_not_cached() {
    let catalogue = FakeCatalogue::default();
    catalogue.fail_next("sku-13");
    let cache = Cache::new(catalogue.clone());

    let first = within_patience("the first get of sku-13", cache.get("sku-13")).await;
    let err = match first {
        Ok(value) => panic!(
            "the catalogue failed the first fetch of sku-13, yet get returned a value: {value:?}"
        ),
        Err(err) => format!("{err:#}"),
    };
    assert!(
        err.contains(ROOT_CAUSE),
        "the error of the failed get lost the catalogue's answer {ROOT_CAUSE:?}: {err:?}"
    );

    let second = within_patience("the get of sku-13 after a failure", cache.get("sku-13")).await;
    let fetches = catalogue.fetches_of("sku-13");
    match second {
        Ok(value) => assert_eq!(
            value,
            product("sku-13"),
            "the get of sku-13 after a failure returned the wrong value"
        ),
        Err(err) => panic!(
            "the catalogue is healthy again, yet the next get of sku-13 failed after {fetches} \
             fetch(es) in all: {err:#}. {}",
            if fetches < 2 {
                "The failure was cached: this product can never be loaded again until a restart. \
                 Remember only successful loads"
            } else {
                "It was fetched again, but the get still failed"
            }
        ),
    }
    assert_eq!(
        fetches, 2,
        "one failed and one successful get of sku-13 should fetch it twice, not {fetches} times"
    );
}
