//! Rejected: fetches page 1, then requests all the other pages concurrently with buffer_unordered: pages arrive out of order and are requested long before the caller gets to them
//! Fails: taking_the_first_users_fetches_only_the_pages_needed, each_page_is_requested_only_when_the_caller_reaches_it, every_user_arrives_in_order_when_the_stream_is_consumed, an_error_on_a_later_page_surfaces_only_when_reached
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
    // Page 1 tells how many pages there are; fetch the others a few at a time.
    stream::once(directory.fetch_page(1)).flat_map(move |first| match first {
        Ok(Page { users, total_pages }) => {
            let rest = stream::iter(2..=total_pages)
                .map(move |page| directory.fetch_page(page))
                .buffer_unordered(4)
                .flat_map(|page| match page {
                    Ok(page) => stream::iter(page.users.into_iter().map(Ok).collect::<Vec<_>>()),
                    Err(err) => stream::iter(vec![Err(err)]),
                });
            stream::iter(users.into_iter().map(Ok))
                .chain(rest)
                .left_stream()
        }
        Err(err) => stream::iter(vec![Err(err)]).right_stream(),
    })
}
