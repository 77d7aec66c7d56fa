//! Rejected: `#[tracing::instrument(skip(db))]` without the `request_id` field: the span records `request` as a whole, and a search by request id finds nothing
//! Fails: a_request_on_its_own_is_traced_in_its_span, concurrent_requests_log_into_their_own_spans, database_queries_are_traced_in_their_requests_span
//! The handler behind `GET /users/{id}/summary`. Every request gets a tracing span with its
//! request id, so that support can pull up everything one request did by searching the logs for
//! `request_id=..`.
//!
//! Bug report from support: "When we search the logs for one request id, we get lines that
//! belong to another request (another user's name, another user's orders), and some of the
//! request's own lines are missing. On a quiet test server it all looks right."

use std::future::Future;

use tracing::info;

pub type UserId = u64;

/// One incoming request, as the web framework hands it to the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub id: u64,
    pub user: UserId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: u64,
    pub total_cents: u64,
}

/// The database client. It writes its own log lines (one per query), which belong to whichever
/// request made the query.
pub trait Database: Send + Sync {
    fn user(&self, id: UserId) -> impl Future<Output = User> + Send;
    fn orders(&self, user: UserId) -> impl Future<Output = Vec<Order>> + Send;
}

/// Handles one request. The server runs many of these at once, one task per request.
#[tracing::instrument(skip(db))]
pub async fn handle_request<D: Database>(db: &D, request: Request) -> String {
    info!("fetching user {}", request.user);
    let user = db.user(request.user).await;
    info!("fetched user {} ({})", user.id, user.name);

    let orders = db.orders(user.id).await;
    let total_cents: u64 = orders.iter().map(|order| order.total_cents).sum();
    info!("loaded {} orders for user {}", orders.len(), user.id);

    format!(
        "{} has {} orders worth {} cents",
        user.name,
        orders.len(),
        total_cents
    )
}
