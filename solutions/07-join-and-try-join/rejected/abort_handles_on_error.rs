//! Rejected: spawns the calls and aborts them when one fails, but only on that path: when the caller drops the page, the spawned calls run on detached
//! Fails: a_cancelled_dashboard_cancels_its_calls
//! `GET /dashboard`: the first page a user sees after logging in.

use std::future::Future;

use tokio::task::JoinHandle;

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

/// Awaits a spawned call and flattens its two layers of errors.
async fn answer<T>(call: JoinHandle<anyhow::Result<T>>) -> anyhow::Result<T> {
    call.await?
}

/// Loads everything the dashboard shows. The page is all or nothing: if any backend fails, the
/// user gets an error page, so there is no point waiting for the others.
pub async fn load_dashboard<B: Backends>(backends: &B, user: UserId) -> anyhow::Result<Dashboard> {
    let b = backends.clone();
    let profile = tokio::spawn(async move { b.profile(user).await });
    let b = backends.clone();
    let orders = tokio::spawn(async move { b.orders(user).await });
    let b = backends.clone();
    let recommendations = tokio::spawn(async move { b.recommendations(user).await });
    let aborts = [
        profile.abort_handle(),
        orders.abort_handle(),
        recommendations.abort_handle(),
    ];

    // The first error wins; the calls still running are aborted before it is returned.
    let (profile, orders, recommendations) =
        match tokio::try_join!(answer(profile), answer(orders), answer(recommendations)) {
            Ok(answers) => answers,
            Err(error) => {
                for call in aborts {
                    call.abort();
                }
                return Err(error);
            }
        };

    Ok(Dashboard {
        profile,
        orders,
        recommendations,
    })
}
