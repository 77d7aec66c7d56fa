//! Rejected: `tokio::join!` runs the calls at once, but waits for all three before anyone looks at an error
//! Fails: a_failed_backend_fails_the_dashboard_at_once, a_failed_backend_cancels_the_other_calls
//! `GET /dashboard`: the first page a user sees after logging in.

use std::future::Future;

pub type UserId = u64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub user: UserId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: u64,
    pub total_cents: u64,
}

/// Everything the dashboard page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    pub profile: Profile,
    pub orders: Vec<Order>,
    pub recommendations: Vec<String>,
}

/// Clients for the three backends the dashboard reads from; in production each method is an HTTP
/// call to a different service. Like most HTTP clients, `Backends` is cheap to clone: clones
/// share one connection pool.
pub trait Backends: Clone + Send + Sync + 'static {
    fn profile(&self, user: UserId) -> impl Future<Output = anyhow::Result<Profile>> + Send;
    fn orders(&self, user: UserId) -> impl Future<Output = anyhow::Result<Vec<Order>>> + Send;
    fn recommendations(
        &self,
        user: UserId,
    ) -> impl Future<Output = anyhow::Result<Vec<String>>> + Send;
}

/// Loads everything the dashboard shows. The page is all or nothing: if any backend fails, the
/// user gets an error page, so there is no point waiting for the others.
pub async fn load_dashboard<B: Backends>(backends: &B, user: UserId) -> anyhow::Result<Dashboard> {
    // Run the three calls at once, then check each result.
    let (profile, orders, recommendations) = tokio::join!(
        backends.profile(user),
        backends.orders(user),
        backends.recommendations(user),
    );
    let (profile, orders, recommendations) = (profile?, orders?, recommendations?);

    Ok(Dashboard {
        profile,
        orders,
        recommendations,
    })
}
