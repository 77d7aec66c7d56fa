//! Accepted: a hand-written Stream that hands out a buffered page of users and starts the request for the next page only when polled with the buffer empty
//! Listing the users of a remote directory service, whose API returns them a page at a time.

use std::fmt;
use std::future::Future;

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;

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
    Users {
        directory,
        buffer: VecDeque::new(),
        next_page: Some(1),
        in_flight: None,
    }
}

type PageRequest<'a> = Pin<Box<dyn Future<Output = Result<Page, ApiError>> + Send + 'a>>;

/// The users of the directory, a page at a time.
struct Users<'a, D> {
    directory: &'a D,
    /// The users of the last page fetched that have not been handed out yet.
    buffer: VecDeque<User>,
    /// The page to request when the buffer runs dry; `None` after the last one (or an error).
    next_page: Option<u32>,
    /// The page being requested, if any.
    in_flight: Option<PageRequest<'a>>,
}

impl<D: Directory> Stream for Users<'_, D> {
    type Item = Result<User, ApiError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(user) = this.buffer.pop_front() {
                return Poll::Ready(Some(Ok(user)));
            }
            if this.in_flight.is_none() {
                // The caller wants more and the buffer is empty: only now ask for a page.
                let Some(page) = this.next_page else {
                    return Poll::Ready(None);
                };
                this.in_flight = Some(Box::pin(this.directory.fetch_page(page)));
            }
            let Some(request) = this.in_flight.as_mut() else {
                continue;
            };
            let result = match request.as_mut().poll(cx) {
                Poll::Ready(result) => result,
                Poll::Pending => return Poll::Pending,
            };
            this.in_flight = None;
            let page = this.next_page.unwrap_or_default();
            match result {
                Ok(Page { users, total_pages }) => {
                    this.buffer.extend(users);
                    this.next_page = (page < total_pages).then_some(page + 1);
                }
                Err(err) => {
                    this.next_page = None;
                    return Poll::Ready(Some(Err(err)));
                }
            }
        }
    }
}
