//! Rejected: drops the span and puts `request_id` on each of the handler's log lines: the database's lines, written by code that knows nothing of the request, have none
//! Fails: a_request_on_its_own_is_traced_in_its_span, database_queries_are_traced_in_their_requests_span, many_concurrent_requests_keep_their_events_apart
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
pub async fn handle_request<D: Database>(db: &D, request: Request) -> String {
    // No span to go wrong: every log line carries the request id itself.
    info!(request_id = request.id, "fetching user {}", request.user);
    let user = db.user(request.user).await;
    info!(
        request_id = request.id,
        "fetched user {} ({})", user.id, user.name
    );

    let orders = db.orders(user.id).await;
    let total_cents: u64 = orders.iter().map(|order| order.total_cents).sum();
    info!(
        request_id = request.id,
        "loaded {} orders for user {}",
        orders.len(),
        user.id
    );

    format!(
        "{} has {} orders worth {} cents",
        user.name,
        orders.len(),
        total_cents
    )
}
