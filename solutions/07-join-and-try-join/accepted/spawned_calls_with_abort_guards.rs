//! Accepted: spawns each call as a task whose handle aborts it when dropped, and awaits the three handles with `try_join!`
//! `GET /dashboard`: the first page a user sees after logging in.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

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

/// A spawned call that is aborted when its handle is dropped; awaiting it gives the call's own
/// result (a panic or cancellation of the task becomes an error).
struct Aborting<T>(JoinHandle<anyhow::Result<T>>);

impl<T> Future for Aborting<T> {
    type Output = anyhow::Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|joined| {
            joined
                .map_err(anyhow::Error::from)
                .and_then(|result| result)
        })
    }
}

impl<T> Drop for Aborting<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Loads everything the dashboard shows. The page is all or nothing: if any backend fails, the
/// user gets an error page, so there is no point waiting for the others.
pub async fn load_dashboard<B: Backends>(backends: &B, user: UserId) -> anyhow::Result<Dashboard> {
    // Spawned tasks run on any worker thread; wrapped in `Aborting`, each is cancelled as soon
    // as nobody waits for it any more (`try_join!` dropping it after another call failed, or
    // the caller dropping this future).
    let b = backends.clone();
    let profile = Aborting(tokio::spawn(async move { b.profile(user).await }));
    let b = backends.clone();
    let orders = Aborting(tokio::spawn(async move { b.orders(user).await }));
    let b = backends.clone();
    let recommendations = Aborting(tokio::spawn(async move { b.recommendations(user).await }));

    let (profile, orders, recommendations) = tokio::try_join!(profile, orders, recommendations)?;

    Ok(Dashboard {
        profile,
        orders,
        recommendations,
    })
}
