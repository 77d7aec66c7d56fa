//! Rejected: fetches page N+1 before handing out page N, so it is ready when the caller gets there: the stream reads a page ahead of the caller
//! Fails: taking_the_first_users_fetches_only_the_pages_needed, each_page_is_requested_only_when_the_caller_reaches_it
//! Listing the users of a remote directory service, whose API returns them a page at a time.

use std::fmt;
use std::future::Future;

use futures::stream::{self, Stream, StreamExt};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: u64,
    pub name: String,
}

/// One page of the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub users: Vec<User>,
    /// How many pages the listing has in all. Pages are numbered from 1.
    pub total_pages: u32,
}

/// A request to the directory failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(pub String);

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "directory request failed: {}", self.0)
    }
}

impl std::error::Error for ApiError {}

/// The directory's paginated API. Every call is one HTTP request.
pub trait Directory {
    /// Fetches page `page` (from 1) of the user listing.
    fn fetch_page(&self, page: u32) -> impl Future<Output = Result<Page, ApiError>> + Send;
}

/// Every user in the directory, in listing order. A page that fails to load shows up as an `Err`
/// in its place, once the caller gets that far.
///
/// Callers often want only the first few users (`.take(5)`), so this must request a page only
/// when the caller actually gets to it.
pub fn all_users<D: Directory>(directory: &D) -> impl Stream<Item = Result<User, ApiError>> + '_ {
    stream::unfold(Ahead::Start, move |state| async move {
        let (page, fetched) = match state {
            Ahead::Start => (1, directory.fetch_page(1).await),
            Ahead::Fetched(page, fetched) => (page, fetched),
            Ahead::Done => return None,
        };
        match fetched {
            Ok(Page { users, total_pages }) => {
                // Fetch the next page now, so the caller never waits for it.
                let next = if page < total_pages {
                    Ahead::Fetched(page + 1, directory.fetch_page(page + 1).await)
                } else {
                    Ahead::Done
                };
                let users: Vec<Result<User, ApiError>> = users.into_iter().map(Ok).collect();
                Some((stream::iter(users), next))
            }
            Err(err) => Some((stream::iter(vec![Err(err)]), Ahead::Done)),
        }
    })
    .flatten()
}

/// Where the listing stands: the next page, already fetched.
enum Ahead {
    Start,
    Fetched(u32, Result<Page, ApiError>),
    Done,
}
