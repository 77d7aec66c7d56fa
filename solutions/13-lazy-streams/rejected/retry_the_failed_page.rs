//! Rejected: moves to the next page only after a success, so reading on past an error requests the failed page again and again, yielding its error for ever
//! Fails: after_a_failed_page_the_stream_moves_on_or_ends
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
    // The state: the next page to fetch, `None` after the last one.
    stream::unfold(Some(1), move |next| async move {
        let page = next?;
        match directory.fetch_page(page).await {
            Ok(Page { users, total_pages }) => {
                let next = (page < total_pages).then_some(page + 1);
                let users: Vec<Result<User, ApiError>> = users.into_iter().map(Ok).collect();
                Some((stream::iter(users), next))
            }
            // Report the error; the caller can read on to try the page again.
            Err(err) => Some((stream::iter(vec![Err(err)]), Some(page))),
        }
    })
    .flatten()
}
