//! Listing the users of a remote directory service, whose API returns them a page at a time.
//!
//! Bug report from the admin dashboard team: "The 'first 5 users' widget takes forever on big
//! tenants, and the directory's operators say every dashboard load requests every page. Also,
//! when one page fails, the widget shows no users at all."

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
    // Fetch the listing, then hand the users out one by one.
    stream::once(fetch_all(directory)).flat_map(|listing| match listing {
        Ok(users) => stream::iter(users.into_iter().map(Ok)).left_stream(),
        Err(err) => stream::iter(vec![Err(err)]).right_stream(),
    })
}

async fn fetch_all<D: Directory>(directory: &D) -> Result<Vec<User>, ApiError> {
    let first = directory.fetch_page(1).await?;
    let mut users = first.users;
    for page in 2..=first.total_pages {
        users.extend(directory.fetch_page(page).await?.users);
    }
    Ok(users)
}
