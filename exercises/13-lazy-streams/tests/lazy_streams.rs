//! A fake directory with 5 pages of 3 users (ids 1 to 15) records every page requested. Requests
//! "take" a few hundred milliseconds of virtual time (`start_paused = true`), so the tests run in
//! microseconds, and a stream that never ends fails after 60 s of virtual time instead of hanging.

use std::pin::pin;
use std::sync::Mutex;
use std::time::Duration;

use futures::StreamExt;
use lazy_streams::{all_users, ApiError, Directory, Page, User};
use tokio::time::{sleep, timeout};

const PAGES: u32 = 5;
const PER_PAGE: u64 = 3;
const PATIENCE: Duration = Duration::from_secs(60);

struct FakeDirectory {
    /// A page whose request fails, if any.
    failing_page: Option<u32>,
    /// Every page requested so far, in order.
    requested: Mutex<Vec<u32>>,
}

impl FakeDirectory {
    fn new() -> Self {
        Self::failing_at(None)
    }

    fn failing_at(failing_page: Option<u32>) -> Self {
        FakeDirectory {
            failing_page,
            requested: Mutex::new(Vec::new()),
        }
    }

    fn requested(&self) -> Vec<u32> {
        self.requested.lock().unwrap().clone()
    }
}

impl Directory for FakeDirectory {
    async fn fetch_page(&self, page: u32) -> Result<Page, ApiError> {
        self.requested.lock().unwrap().push(page);
        // Pages take different times, so requests made at once would finish out of order.
        let latency = [50, 400, 100, 300, 200][(page as usize).saturating_sub(1) % 5];
        sleep(Duration::from_millis(latency)).await;
        if page == 0 || page > PAGES {
            return Err(ApiError(format!(
                "page {page} does not exist (pages 1 to {PAGES})"
            )));
        }
        if self.failing_page == Some(page) {
            return Err(ApiError(format!("page {page}: 503 Service Unavailable")));
        }
        let first = u64::from(page - 1) * PER_PAGE + 1;
        Ok(Page {
            users: (first..first + PER_PAGE)
                .map(|id| User {
                    id,
                    name: format!("user{id}"),
                })
                .collect(),
            total_pages: PAGES,
        })
    }
}

fn ids(range: std::ops::RangeInclusive<u64>) -> Vec<u64> {
    range.collect()
}

#[tokio::test(start_paused = true)]
async fn taking_the_first_users_fetches_only_the_pages_needed() {
    // (users taken, pages that holds them)
    for (take, pages_needed) in [(1, 1), (3, 1), (4, 2), (7, 3)] {
        let directory = FakeDirectory::new();
        let users = all_users(&directory);
        let requested = directory.requested();
        assert!(
            requested.is_empty(),
            "all_users requested pages {requested:?} before anyone read from the stream: a \
             stream should do nothing until it is polled"
        );

        let users = timeout(PATIENCE, users.take(take).collect::<Vec<_>>())
            .await
            .unwrap_or_else(|_| {
                panic!("taking the first {take} users did not finish within 60 s (virtual)")
            });
        let requested = directory.requested();
        let first_users = match take {
            1 => "the first user".to_string(),
            n => format!("the first {n} users"),
        };
        let needed = match pages_needed {
            1 => "page 1".to_string(),
            n => format!("pages 1 to {n}"),
        };
        let why = if requested.len() == PAGES as usize {
            "it fetched every page, whether the caller needed it or not"
        } else if requested.len() > pages_needed as usize {
            "it fetched pages ahead of the caller"
        } else {
            "each page the caller reaches should be requested once, in order"
        };
        assert_eq!(
            requested,
            (1..=pages_needed).collect::<Vec<u32>>(),
            "taking {first_users} ({PER_PAGE} users per page) needs only {needed}, but the \
             stream requested pages {requested:?}: {why}. Request a page only when the caller \
             has used up the one before"
        );

        let got: Vec<u64> = users
            .into_iter()
            .map(|user| user.expect("no page fails in this test").id)
            .collect();
        assert_eq!(
            got,
            ids(1..=take as u64),
            "the first {take} users taken should be users 1 to {take}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn every_user_arrives_in_order_when_the_stream_is_consumed() {
    let directory = FakeDirectory::new();

    let users = timeout(PATIENCE, all_users(&directory).collect::<Vec<_>>())
        .await
        .expect("the stream did not end within 60 s (virtual): does it stop after the last page?");

    let mut got = Vec::new();
    for user in users {
        match user {
            Ok(user) => got.push(user.id),
            Err(err) => panic!(
                "after users {got:?} the stream yielded an error although every page loads: \
                 {err} (pages requested: {:?})",
                directory.requested()
            ),
        }
    }
    let total = u64::from(PAGES) * PER_PAGE;
    assert_eq!(
        got,
        ids(1..=total),
        "consuming the whole stream must yield all {total} users of the {PAGES} pages, each \
         once, in listing order"
    );
    let requested = directory.requested();
    assert_eq!(
        requested,
        (1..=PAGES).collect::<Vec<u32>>(),
        "consuming the whole stream should request each of the {PAGES} pages once, in order"
    );
}

#[tokio::test(start_paused = true)]
async fn an_error_on_a_later_page_surfaces_only_when_reached() {
    // Page 3 fails. A caller that stops before it must never see the error...
    let directory = FakeDirectory::failing_at(Some(3));
    let users = timeout(PATIENCE, all_users(&directory).take(6).collect::<Vec<_>>())
        .await
        .expect("taking the first 6 users did not finish within 60 s (virtual)");
    let errors: Vec<&ApiError> = users.iter().filter_map(|u| u.as_ref().err()).collect();
    let delivered = users
        .iter()
        .filter(|u| matches!(u, Ok(user) if user.id <= 6))
        .count();
    assert!(
        errors.is_empty(),
        "page 3 fails, and the caller took only the first 6 users (pages 1 and 2), yet it got \
         the error {errors:?} and only {delivered} of those 6 users (pages requested: {:?}): \
         the stream fetched the failing page before anyone asked for it",
        directory.requested()
    );

    // ... and one that reads on gets the users of pages 1 and 2, then the error.
    let directory = FakeDirectory::failing_at(Some(3));
    let mut users = pin!(all_users(&directory));
    let mut got = Vec::new();
    let err = loop {
        let next = timeout(PATIENCE, users.next())
            .await
            .expect("the stream produced nothing within 60 s (virtual)");
        match next {
            Some(Ok(user)) => got.push(user.id),
            Some(Err(err)) => break err,
            None => panic!("page 3 fails, but the stream ended after users {got:?} with no error"),
        }
    };
    assert_eq!(
        got,
        ids(1..=6),
        "page 3 fails, so the stream must yield the 6 users of pages 1 and 2 first, and then the \
         error; it yielded users {got:?} before the error"
    );
    assert!(
        err.0.contains("page 3"),
        "the error should be page 3's, got: {err}"
    );
    let requested = directory.requested();
    assert_eq!(
        requested,
        vec![1, 2, 3],
        "when page 3's error surfaced, the stream should have requested pages 1 to 3 only"
    );
}
