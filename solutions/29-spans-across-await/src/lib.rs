//! The handler behind `GET /users/{id}/summary`. Every request gets a tracing span with its
//! request id, so that support can pull up everything one request did by searching the logs for
//! `request_id=..`. The reference solution.

use std::future::Future;

use tracing::{info, Instrument};

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
    let span = tracing::info_span!("request", request_id = request.id);
    // `span.enter()` marks the span current on this *thread* until the guard drops, and a guard
    // held across an `.await` stays entered while this task is suspended: other tasks then log
    // into it. `instrument` instead enters the span each time the future is polled and exits it
    // each time the future yields, so the span is current exactly while this request runs,
    // including inside the database calls it awaits.
    async move {
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
    .instrument(span)
    .await
}
