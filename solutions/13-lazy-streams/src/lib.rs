//! Listing the users of a remote directory service, whose API returns them a page at a time:
//! the reference solution.

use std::fmt;
use std::future::Future;

use futures::stream::{self, Stream, TryStreamExt};

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
    // A stream of pages, each fetched only when the caller has used up the one before (that is
    // when `try_flatten` polls for the next). The state is the number of the next page to
    // fetch, `None` after the last one. An error ends the stream: `try_unfold` stops after it.
    stream::try_unfold(Some(1), move |next| async move {
        let Some(page) = next else {
            return Ok(None);
        };
        let Page { users, total_pages } = directory.fetch_page(page).await?;
        let next = (page < total_pages).then_some(page + 1);
        Ok(Some((stream::iter(users.into_iter().map(Ok)), next)))
    })
    // ... flattened into a stream of users.
    .try_flatten()
}
