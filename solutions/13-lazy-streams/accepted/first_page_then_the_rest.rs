//! Accepted: page 1 first (it holds the page count), then a lazy `then` over pages 2 to total_pages, each flattened into users; a failed later page is an Err and the listing carries on
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
    // Page 1 tells how many pages there are; `then` requests each of the others only when the
    // stream is polled past the one before.
    stream::once(directory.fetch_page(1)).flat_map(move |first| match first {
        Ok(Page { users, total_pages }) => {
            let rest = stream::iter(2..=total_pages)
                .then(move |page| directory.fetch_page(page))
                .flat_map(page_of_users);
            stream::iter(users.into_iter().map(Ok))
                .chain(rest)
                .left_stream()
        }
        Err(err) => stream::iter(vec![Err(err)]).right_stream(),
    })
}

/// One page's users as a stream, or its error in their place.
fn page_of_users(
    page: Result<Page, ApiError>,
) -> stream::Iter<std::vec::IntoIter<Result<User, ApiError>>> {
    match page {
        Ok(page) => stream::iter(page.users.into_iter().map(Ok).collect::<Vec<_>>()),
        Err(err) => stream::iter(vec![Err(err)]),
    }
}
