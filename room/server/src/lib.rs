//! The workshop room's server (`cargo kata serve` runs its binary): the dashboard page, its live
//! feed, and the API learners join and report through.
//!
//! `state` holds the room in memory and decides every change, `store` keeps it on disk,
//! `summary` works out where the room is stuck (grouping failures with `failures`), `routes` is
//! the HTTP face of it all, `gate` limits joins per address, `names` decides which names may be
//! shown, `secrets` makes and checks codes, keys and tokens, and `files` keeps the room's files
//! private.

pub mod catalogue;
mod failures;
pub mod files;
mod gate;
mod names;
mod routes;
mod secrets;
mod state;
mod store;
mod summary;

pub use state::{Opened, Options, PacingFrom, Room};

use anyhow::{Context, Result};
use std::future::Future;
use tokio::net::TcpListener;

/// Serves `room` on `listener` until `shutdown` resolves, then ends the live feeds, lets the
/// requests in flight finish and closes the database.
pub async fn run(
    listener: TcpListener,
    room: Room,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let app = routes::router(room.clone());
    let feeds = room.clone();
    // Joins are limited per address, so handlers need the peer's address.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Live feeds never end by themselves, and graceful shutdown waits for them.
            feeds.close_feeds();
        })
        .await
        .context("the room's server failed");
    room.close().await;
    served
}
