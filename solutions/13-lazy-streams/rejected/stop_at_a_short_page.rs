//! Rejected: ignores total_pages and stops after a page that holds fewer users than the first, a common pagination shortcut that ends early when pages differ in size
//! Fails: every_user_arrives_in_order_when_the_stream_is_consumed, each_page_is_requested_only_when_the_caller_reaches_it
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
    // The state: the next page, and the size of a full page (page 1's). A page shorter than
    // that is the last one.
    stream::unfold(Some((1, 0)), move |next| async move {
        let (page, full) = next?;
        match directory.fetch_page(page).await {
            Ok(Page { users, .. }) => {
                let full = if page == 1 { users.len() } else { full };
                let next = (!users.is_empty() && users.len() >= full).then_some((page + 1, full));
                let users: Vec<Result<User, ApiError>> = users.into_iter().map(Ok).collect();
                Some((stream::iter(users), next))
            }
            Err(err) => Some((stream::iter(vec![Err(err)]), None)),
        }
    })
    .flatten()
}
