//! Every test runs on a paused clock (`start_paused = true`): a fetch from the fake catalogue
//! "takes" 1 s of virtual time, so ten of them one after another would take 10 s of virtual time
//! and still only microseconds of real time. The fake counts every fetch, per key.
//!
//! The property under test: at any moment there is at most one fetch in flight per key, and
//! every get of a key that is being fetched waits for that fetch instead of starting its own;
//! gets of different keys never wait for each other. And the "being fetched" state always ends:
//! when the fetch succeeds (the value is served from memory from then on), when it fails (the
//! error is not remembered) and when the get running it is cancelled (another get takes over).
//! One test runs on two threads at once, to race gets for real.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
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

#[tokio::test(start_paused = true)]
async fn hot_keys_are_each_fetched_once_in_a_burst() {
    let catalogue = FakeCatalogue::default();
    let cache = Arc::new(Cache::new(catalogue.clone()));
    // Three products on the front page, six requests for each, arriving interleaved.
    let hot = ["sku-1", "sku-2", "sku-3"];
    let keys: Vec<String> = (0..18).map(|i| hot[i % 3].to_string()).collect();

    let (results, elapsed) = within_patience(
        "18 concurrent gets of 3 keys",
        concurrent_gets(&cache, &keys),
    )
    .await;

    for key in hot {
        let fetches = catalogue.fetches_of(key);
        assert_eq!(
            fetches, 1,
            "6 concurrent gets of {key}, mixed with gets of two other keys, fetched it {fetches} \
             times: gets of a key that is being fetched should wait for that fetch"
        );
    }
    for (key, result) in keys.iter().zip(&results) {
        match result {
            Ok(value) => assert_eq!(
                value,
                &product(key),
                "a get of {key} returned the wrong value"
            ),
            Err(err) => panic!("a get of {key} failed although its fetch succeeded: {err:#}"),
        }
    }
    assert!(
        elapsed < FETCH + Duration::from_millis(500),
        "18 concurrent gets of 3 keys took {elapsed:?} of virtual time, with fetches of {FETCH:?}: \
         the three fetches should run at the same time, and every get should wait only for the \
         fetch of its own key"
    );
}

#[tokio::test(start_paused = true)]
async fn a_get_cancelled_mid_fetch_does_not_block_the_next_get() {
    let catalogue = FakeCatalogue::default();
    let cache = Cache::new(catalogue.clone());

    // A request gives up after 500 ms: its get is dropped in the middle of the 1 s fetch.
    let cancelled = timeout(Duration::from_millis(500), cache.get("sku-5")).await;
    assert!(
        cancelled.is_err(),
        "a get of sku-5 returned {cancelled:?} within 500 ms, although a fetch takes {FETCH:?}"
    );

    let next = timeout(PATIENCE, cache.get("sku-5")).await;
    let Ok(next) = next else {
        panic!(
            "a get of sku-5 was cancelled in the middle of its fetch (its request timed out), \
             and the next get of sku-5 never returned, not within {PATIENCE:?} of virtual time: \
             it is waiting for a fetch that nobody will ever finish. A key must not stay marked \
             as \"being fetched\" once the get that was fetching it is gone"
        );
    };
    match next {
        Ok(value) => assert_eq!(
            value,
            product("sku-5"),
            "the get of sku-5 returned the wrong value"
        ),
        Err(err) => panic!("the get of sku-5 after a cancelled one failed: {err:#}"),
    }
    let fetches = catalogue.fetches_of("sku-5");
    assert!(
        fetches <= 2,
        "a cancelled get and one more get of sku-5 fetched it {fetches} times"
    );
}

#[tokio::test(start_paused = true)]
async fn gets_waiting_on_a_cancelled_fetch_still_get_the_value() {
    let catalogue = FakeCatalogue::default();
    let cache = Arc::new(Cache::new(catalogue.clone()));

    // An impatient request starts the fetch and gives up after 500 ms; three patient ones
    // arrive 100 ms after it, while its fetch is in flight, and wait for it.
    let impatient = {
        let cache = Arc::clone(&cache);
        tokio::spawn(async move { timeout(Duration::from_millis(500), cache.get("sku-8")).await })
    };
    sleep(Duration::from_millis(100)).await;
    let patient: Vec<_> = (0..3)
        .map(|_| {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.get("sku-8").await })
        })
        .collect();

    let outcome = timeout(PATIENCE, async {
        let impatient = impatient.await.expect("a get panicked");
        let mut results = Vec::new();
        for task in patient {
            results.push(task.await.expect("a get panicked"));
        }
        (impatient, results)
    })
    .await;
    let Ok((impatient, results)) = outcome else {
        panic!(
            "the get that was fetching sku-8 was cancelled after 500 ms, and the 3 gets waiting \
             for that fetch never returned, not within {PATIENCE:?} of virtual time: they wait \
             for a fetch that nobody will ever finish. When the get running a fetch is \
             cancelled, one of the waiting gets has to take over"
        );
    };
    assert!(
        impatient.is_err(),
        "the impatient get returned {impatient:?} within 500 ms, although a fetch takes {FETCH:?}"
    );
    for (i, result) in results.iter().enumerate() {
        match result {
            Ok(value) => assert_eq!(
                value,
                &product("sku-8"),
                "waiting get #{i} returned the wrong value"
            ),
            Err(err) => panic!(
                "waiting get #{i} of sku-8 failed after the get running the fetch was cancelled: \
                 {err:#}. Nothing was wrong with the catalogue: someone else should fetch it"
            ),
        }
    }
    let fetches = catalogue.fetches_of("sku-8");
    assert!(
        fetches <= 2,
        "after the get running the fetch of sku-8 was cancelled, the 3 gets waiting for it \
         fetched it again {} times: one of them should fetch, the others should wait for that",
        fetches - 1
    );
}

#[tokio::test(start_paused = true)]
async fn gets_waiting_on_a_failed_fetch_are_not_stuck() {
    let catalogue = FakeCatalogue::default();
    catalogue.fail_next("sku-21");
    let cache = Arc::new(Cache::new(catalogue.clone()));
    let keys = vec!["sku-21".to_string(); 5];

    let outcome = timeout(PATIENCE, concurrent_gets(&cache, &keys)).await;
    let Ok((results, _)) = outcome else {
        panic!(
            "the first fetch of sku-21 failed, and the gets that were waiting for it never \
             returned, not within {PATIENCE:?} of virtual time: a failed fetch must end the \
             \"being fetched\" state too, and the waiting gets either get the error or fetch \
             again"
        );
    };
    for (i, result) in results.iter().enumerate() {
        match result {
            Ok(value) => assert_eq!(
                value,
                &product("sku-21"),
                "get #{i} returned the wrong value"
            ),
            Err(err) => {
                let err = format!("{err:#}");
                assert!(
                    err.contains(ROOT_CAUSE),
                    "get #{i} of sku-21 failed, but its error lost the catalogue's answer \
                     {ROOT_CAUSE:?}: {err:?}"
                );
            }
        }
    }
    let later = within_patience("a get of sku-21 after the failure", cache.get("sku-21")).await;
    assert!(
        matches!(&later, Ok(value) if *value == product("sku-21")),
        "the catalogue is healthy again, but a later get of sku-21 returned {later:?}"
    );
}

/// A catalogue that answers at once, after a few yields, for the test on two threads.
#[derive(Clone, Default)]
struct QuickCatalogue {
    fetches: Arc<Mutex<HashMap<String, usize>>>,
}

impl Loader for QuickCatalogue {
    async fn load(&self, key: &str) -> anyhow::Result<String> {
        *self
            .fetches
            .lock()
            .unwrap()
            .entry(key.to_owned())
            .or_default() += 1;
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        Ok(product(key))
    }
}

/// Real threads, real races: two driver threads take the same new key in each round and make
/// the first step of their get (where it finds the key free, or being fetched, and claims it) at
/// the same instant; the rest of each get runs in a task. No timing is measured, only fetches, so
/// a correct cache passes every time; a cache whose "is anyone fetching it?" check and "I am
/// fetching it" mark are two separate steps is caught on most runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_gets_on_two_threads_fetch_each_key_once() {
    const ROUNDS: usize = 4_000;
    let catalogue = QuickCatalogue::default();
    let cache = Arc::new(Cache::new(catalogue.clone()));
    let arrived = Arc::new(AtomicUsize::new(0));
    let drivers: Vec<_> = (0..2)
        .map(|_| {
            let (cache, arrived) = (Arc::clone(&cache), Arc::clone(&arrived));
            let runtime = tokio::runtime::Handle::current();
            // Each driver has a thread of its own, so the two really run in parallel.
            tokio::task::spawn_blocking(move || {
                let _runtime = runtime.enter();
                let mut gets = Vec::new();
                for round in 0..ROUNDS {
                    let key = format!("race-{round}");
                    let cache = Arc::clone(&cache);
                    let mut get = Box::pin(async move { cache.get(&key).await.map(|v| (key, v)) });
                    // Wait, a little, until the other driver has reached this round too, so that
                    // both go at the same instant. A driver whose partner is not running (a busy
                    // machine) goes on alone: the test only gets slower at catching a race.
                    arrived.fetch_add(1, Ordering::SeqCst);
                    let mut spins = 0;
                    while arrived.load(Ordering::SeqCst) < 2 * (round + 1) && spins < 2_000 {
                        std::hint::spin_loop();
                        spins += 1;
                    }
                    // The first poll, here and now, on this thread; the rest in a task, which
                    // polls it again with a waker of its own.
                    let mut cx = Context::from_waker(Waker::noop());
                    gets.push(match get.as_mut().poll(&mut cx) {
                        Poll::Ready(result) => runtime.spawn(async move { result }),
                        Poll::Pending => runtime.spawn(get),
                    });
                }
                gets
            })
        })
        .collect();
    for driver in drivers {
        for get in driver.await.expect("a driver panicked") {
            match get.await.expect("a get panicked") {
                Ok((key, value)) => {
                    assert_eq!(
                        value,
                        product(&key),
                        "a get of {key} returned the wrong value"
                    )
                }
                Err(err) => panic!("a get failed although every fetch succeeded: {err:#}"),
            }
        }
    }
    let fetches = catalogue.fetches.lock().unwrap().clone();
    let mut twice: Vec<(&String, &usize)> = fetches.iter().filter(|(_, &n)| n != 1).collect();
    twice.sort();
    assert!(
        twice.is_empty(),
        "in {} of {ROUNDS} rounds, two gets of one new key started at the same instant on two \
         threads and fetched it more than once (for example {:?}). Both saw nobody fetching it: \
         between checking that a key is not being fetched and marking it as being fetched, \
         another thread can make the same check. The check and the mark must be one step, under \
         one lock",
        twice.len(),
        twice.first(),
    );
}
