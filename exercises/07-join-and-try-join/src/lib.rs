//! `GET /dashboard`: the first page a user sees after logging in.
//!
//! Bug report from the web team: "The dashboard takes as long as the profile, orders and
//! recommendations backends put together, although each one is quick on its own. And when the
//! orders service is down, users stare at a spinner for seconds before the error page shows up,
//! while the other backends go on answering requests that nobody will ever read."

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
    // Three calls to three different services. How long does the page wait for them in all?
    let profile = backends.profile(user).await?;
    let orders = backends.orders(user).await?;
    let recommendations = backends.recommendations(user).await?;

    Ok(Dashboard {
        profile,
        orders,
        recommendations,
    })
}
