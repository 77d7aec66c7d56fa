//! A fake directory records every page requested. It comes in several shapes: 5 pages of 3 users,
//! pages of different sizes (one of them holding a single user), a single page, and a listing
//! with an empty page in the middle. User ids run from 1 across the pages. Requests "take" a few
//! hundred milliseconds of virtual time (`start_paused = true`), so the tests run in microseconds,
//! and a stream that never ends fails after 60 s of virtual time instead of hanging.

use std::pin::pin;
use std::sync::Mutex;
use std::time::Duration;

use futures::{Stream, StreamExt};
use lazy_streams::{all_users, ApiError, Directory, Page, User};
use tokio::time::{sleep, timeout};

const PATIENCE: Duration = Duration::from_secs(60);

/// Users per page, for each shape of directory the tests use.
const EVEN: &[u64] = &[3, 3, 3, 3, 3];
const UNEVEN: &[u64] = &[2, 5, 1, 4, 3, 1];
const SINGLE_PAGE: &[u64] = &[4];
const EMPTY_PAGE_INSIDE: &[u64] = &[3, 0, 2];

struct FakeDirectory {
    /// How many users each page holds; its length is the number of pages.
    sizes: Vec<u64>,
    /// A page whose request fails, if any.
    failing_page: Option<u32>,
    /// Every page requested so far, in order.
    requested: Mutex<Vec<u32>>,
}

impl FakeDirectory {
    fn new(sizes: &[u64]) -> Self {
        Self::failing_at(sizes, None)
    }

    fn failing_at(sizes: &[u64], failing_page: Option<u32>) -> Self {
        FakeDirectory {
            sizes: sizes.to_vec(),
            failing_page,
            requested: Mutex::new(Vec::new()),
        }
    }

    fn pages(&self) -> u32 {
        self.sizes.len() as u32
    }

    fn total_users(&self) -> u64 {
        self.sizes.iter().sum()
    }

    /// The page that holds user `id` (ids run from 1).
    fn page_of(&self, id: u64) -> u32 {
        let mut last = 0;
        for (page, size) in self.sizes.iter().enumerate() {
            last += size;
            if id <= last {
                return page as u32 + 1;
            }
        }
        panic!("user {id} is not in the directory")
    }

    /// The ids of the users on pages `1..page` (before `page`).
    fn users_before(&self, page: u32) -> Vec<u64> {
        let before: u64 = self.sizes[..page as usize - 1].iter().sum();
        (1..=before).collect()
    }

    /// The ids of the users on pages after `page`.
    fn users_after(&self, page: u32) -> Vec<u64> {
        let through: u64 = self.sizes[..page as usize].iter().sum();
        (through + 1..=self.total_users()).collect()
    }

    fn requested(&self) -> Vec<u32> {
        self.requested.lock().unwrap().clone()
    }

    /// The pages requested so far, for a message: at most the first dozen.
    fn requests(&self) -> String {
        let requested = self.requested();
        if requested.len() <= 12 {
            format!("{requested:?}")
        } else {
            format!(
                "{:?} and {} more, {} requests in all",
                &requested[..12],
                requested.len() - 12,
                requested.len()
            )
        }
    }

    fn shape(&self) -> String {
        format!(
            "a directory of {} pages holding {:?} users",
            self.pages(),
            self.sizes
        )
    }
}

impl Directory for FakeDirectory {
    async fn fetch_page(&self, page: u32) -> Result<Page, ApiError> {
        self.requested.lock().unwrap().push(page);
        // Pages take different times, so requests made at once would finish out of order.
        let latency = [50, 400, 100, 300, 200][(page as usize).saturating_sub(1) % 5];
        sleep(Duration::from_millis(latency)).await;
        let pages = self.pages();
        if page == 0 || page > pages {
            return Err(ApiError(format!(
                "page {page} does not exist (pages 1 to {pages})"
            )));
        }
        if self.failing_page == Some(page) {
            return Err(ApiError(format!("page {page}: 503 Service Unavailable")));
        }
        let first = self.sizes[..page as usize - 1].iter().sum::<u64>() + 1;
        Ok(Page {
            users: (first..first + self.sizes[page as usize - 1])
                .map(|id| User {
                    id,
                    name: format!("user{id}"),
                })
                .collect(),
            total_pages: pages,
        })
    }
}

fn ids(range: std::ops::RangeInclusive<u64>) -> Vec<u64> {
    range.collect()
}

fn pages_through(page: u32) -> Vec<u32> {
    (1..=page).collect()
}

/// "page 1", "pages 1 to 3": the pages up to `page`, in words.
fn pages_named(page: u32) -> String {
    match page {
        1 => "page 1".to_string(),
        n => format!("pages 1 to {n}"),
    }
}

/// The next item of the stream; fails the test if nothing comes within 60 s of virtual time.
async fn next_item<S>(users: &mut S, after: &[u64]) -> Option<Result<User, ApiError>>
where
    S: Stream<Item = Result<User, ApiError>> + Unpin,
{
    timeout(PATIENCE, users.next()).await.unwrap_or_else(|_| {
        panic!("after users {after:?} the stream produced nothing within 60 s (virtual)")
    })
}

#[tokio::test(start_paused = true)]
async fn taking_the_first_users_fetches_only_the_pages_needed() {
    for sizes in [EVEN, UNEVEN] {
        let shape = FakeDirectory::new(sizes);
        for take in [1, 2, 3, 4, 7, 8] {
            let directory = FakeDirectory::new(sizes);
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
            let pages_needed = shape.page_of(take as u64);
            let why = if requested.len() == shape.pages() as usize {
                "it fetched every page, whether the caller needed it or not"
            } else if requested.len() > pages_needed as usize {
                "it fetched pages ahead of the caller"
            } else {
                "each page the caller reaches should be requested once, in order"
            };
            assert_eq!(
                requested,
                pages_through(pages_needed),
                "in {}, taking the first {take} user(s) needs only {}, but the stream \
                 requested pages {requested:?}: {why}. Request a page only when the caller has \
                 used up the one before",
                shape.shape(),
                pages_named(pages_needed)
            );

            let got: Vec<u64> = users
                .into_iter()
                .map(|user| user.expect("no page fails in this test").id)
                .collect();
            assert_eq!(
                got,
                ids(1..=take as u64),
                "in {}, the first {take} users taken should be users 1 to {take}",
                shape.shape()
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn each_page_is_requested_only_when_the_caller_reaches_it() {
    for sizes in [EVEN, UNEVEN, SINGLE_PAGE, EMPTY_PAGE_INSIDE] {
        let directory = FakeDirectory::new(sizes);
        let mut users = pin!(all_users(&directory));
        let mut got: Vec<u64> = Vec::new();

        // One user at a time, as a slow caller would, checking the requests after each one.
        while let Some(user) = next_item(&mut users, &got).await {
            let user = user.unwrap_or_else(|err| {
                panic!(
                    "in {}, after users {got:?} the stream yielded an error although every page \
                     loads: {err} (pages requested: {:?})",
                    directory.shape(),
                    directory.requested()
                )
            });
            got.push(user.id);
            let page = directory.page_of(user.id);
            let requested = directory.requested();
            assert_eq!(
                requested,
                pages_through(page),
                "in {}, when user {} (on page {page}) came out, the stream had requested pages \
                 {requested:?}, but the caller needed only {} so far. Page N+1 must be requested only \
                 once the caller has used up page N and asks for more",
                directory.shape(),
                user.id,
                pages_named(page)
            );
        }
        let total = directory.total_users();
        assert_eq!(
            got,
            ids(1..=total),
            "in {}, reading the whole stream one user at a time must yield users 1 to {total}",
            directory.shape()
        );
        assert_eq!(
            directory.requested(),
            pages_through(directory.pages()),
            "in {}, once the stream ended every page should have been requested once, in order",
            directory.shape()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn every_user_arrives_in_order_when_the_stream_is_consumed() {
    for sizes in [EVEN, UNEVEN, SINGLE_PAGE, EMPTY_PAGE_INSIDE] {
        let directory = FakeDirectory::new(sizes);

        let users = timeout(PATIENCE, all_users(&directory).collect::<Vec<_>>())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "in {}, the stream did not end within 60 s (virtual): does it stop after the \
                     last page?",
                    directory.shape()
                )
            });

        let mut got = Vec::new();
        for user in users {
            match user {
                Ok(user) => got.push(user.id),
                Err(err) => panic!(
                    "in {}, after users {got:?} the stream yielded an error although every page \
                     loads: {err} (pages requested: {:?}). The page count is in every page's \
                     total_pages",
                    directory.shape(),
                    directory.requested()
                ),
            }
        }
        let total = directory.total_users();
        assert_eq!(
            got,
            ids(1..=total),
            "in {}, consuming the whole stream must yield all {total} users, each once, in \
             listing order (pages requested: {:?}). The page count is in every page's \
             total_pages, and a page may hold any number of users",
            directory.shape(),
            directory.requested()
        );
        let requested = directory.requested();
        assert_eq!(
            requested,
            pages_through(directory.pages()),
            "in {}, consuming the whole stream should request each page once, in order",
            directory.shape()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_error_on_a_later_page_surfaces_only_when_reached() {
    for (sizes, failing) in [(EVEN, 3), (EVEN, 1), (EVEN, 5), (UNEVEN, 4)] {
        let shape = FakeDirectory::failing_at(sizes, Some(failing));
        let before = shape.users_before(failing);

        // A caller that stops before the failing page must never see the error...
        if !before.is_empty() {
            let directory = FakeDirectory::failing_at(sizes, Some(failing));
            let users = timeout(
                PATIENCE,
                all_users(&directory).take(before.len()).collect::<Vec<_>>(),
            )
            .await
            .expect("taking the users before the failing page did not finish within 60 s");
            let errors: Vec<&ApiError> = users.iter().filter_map(|u| u.as_ref().err()).collect();
            assert!(
                errors.is_empty(),
                "in {}, page {failing} fails, and the caller took only the first {} users \
                 ({}), yet it got the error {errors:?} (pages requested: {:?}): the \
                 stream fetched the failing page before anyone asked for it",
                shape.shape(),
                before.len(),
                pages_named(failing - 1),
                directory.requested()
            );
        }

        // ... and one that reads on gets the users of the pages before it, then the error.
        let directory = FakeDirectory::failing_at(sizes, Some(failing));
        let mut users = pin!(all_users(&directory));
        let mut got = Vec::new();
        let err = loop {
            match next_item(&mut users, &got).await {
                Some(Ok(user)) if got.len() < before.len() => got.push(user.id),
                Some(Ok(user)) => panic!(
                    "in {}, page {failing} fails, so the stream must yield the {} users of the \
                     pages before it and then the error; after users {got:?} it yielded user {} \
                     instead (pages requested: {})",
                    shape.shape(),
                    before.len(),
                    user.id,
                    directory.requests()
                ),
                Some(Err(err)) => break err,
                None => panic!(
                    "in {}, page {failing} fails, but the stream ended after users {got:?} \
                     with no error: a failed page must show up as an Err, not end the listing \
                     as if it were complete",
                    shape.shape()
                ),
            }
        };
        assert_eq!(
            got,
            before,
            "in {}, page {failing} fails, so the stream must yield the users of the pages \
             before it first, and then the error; it yielded users {got:?} before the error",
            shape.shape()
        );
        assert!(
            err.0.contains(&format!("page {failing}")),
            "the error should be page {failing}'s, got: {err}"
        );
        let requested = directory.requested();
        assert_eq!(
            requested,
            pages_through(failing),
            "in {}, when page {failing}'s error surfaced, the stream should have requested \
             {} only",
            shape.shape(),
            pages_named(failing)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn after_a_failed_page_the_stream_moves_on_or_ends() {
    // Far more items than any of these directories holds: a stream that repeats itself shows.
    const AT_MOST: usize = 100;
    for (sizes, failing) in [(EVEN, 3), (EVEN, 1), (UNEVEN, 2)] {
        let directory = FakeDirectory::failing_at(sizes, Some(failing));
        let items = timeout(
            PATIENCE,
            all_users(&directory).take(AT_MOST).collect::<Vec<_>>(),
        )
        .await
        .unwrap_or_else(|_| {
            panic!(
                "in {}, page {failing} fails, and reading on past its error, the stream did not \
                 end within 60 s (virtual). After a failed page it must either end or carry on \
                 with the next pages (pages requested: {})",
                directory.shape(),
                directory.requests()
            )
        });

        let errors = items.iter().filter(|item| item.is_err()).count();
        assert!(
            errors == 1,
            "in {}, page {failing} fails once, and reading on (up to {AT_MOST} items) the stream \
             yielded {errors} errors in {} items (pages requested: {}): after a failed page the \
             stream must move on to the next page or end, not request the same page again and \
             again",
            directory.shape(),
            items.len(),
            directory.requests()
        );
        let at = items.iter().position(|item| item.is_err()).unwrap_or(0);
        let after: Vec<u64> = items[at + 1..]
            .iter()
            .filter_map(|item| item.as_ref().ok().map(|user| user.id))
            .collect();
        let later = directory.users_after(failing);
        assert!(
            after.is_empty() || after == later,
            "in {}, after page {failing}'s error the stream yielded users {after:?}: it may end \
             there, or carry on with the users of the later pages, {later:?}, in order",
            directory.shape()
        );
    }
}
