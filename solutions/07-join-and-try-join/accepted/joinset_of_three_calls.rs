//! Accepted: spawns the three calls into a JoinSet and returns at the first error; dropping the set aborts the calls still running
//! `GET /dashboard`: the first page a user sees after logging in.

use std::future::Future;

use tokio::task::JoinSet;

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

/// What one of the three calls answered.
enum Answer {
    Profile(Profile),
    Orders(Vec<Order>),
    Recommendations(Vec<String>),
}

/// Loads everything the dashboard shows. The page is all or nothing: if any backend fails, the
/// user gets an error page, so there is no point waiting for the others.
pub async fn load_dashboard<B: Backends>(backends: &B, user: UserId) -> anyhow::Result<Dashboard> {
    // One task per call; the set owns them, so leaving this function by any path (an error, or
    // the caller dropping this future) aborts whatever is still running.
    let mut calls = JoinSet::new();
    let b = backends.clone();
    calls.spawn(async move { b.profile(user).await.map(Answer::Profile) });
    let b = backends.clone();
    calls.spawn(async move { b.orders(user).await.map(Answer::Orders) });
    let b = backends.clone();
    calls.spawn(async move { b.recommendations(user).await.map(Answer::Recommendations) });

    let (mut profile, mut orders, mut recommendations) = (None, None, None);
    while let Some(done) = calls.join_next().await {
        match done?? {
            Answer::Profile(p) => profile = Some(p),
            Answer::Orders(o) => orders = Some(o),
            Answer::Recommendations(r) => recommendations = Some(r),
        }
    }
    let (Some(profile), Some(orders), Some(recommendations)) = (profile, orders, recommendations)
    else {
        anyhow::bail!("a dashboard call ended without an answer");
    };

    Ok(Dashboard {
        profile,
        orders,
        recommendations,
    })
}
