//! `serve`: the instructor's workshop room, a live dashboard of every learner.

use crate::ServeArgs;
use anyhow::{Context, Result};
use room_server::{catalogue, Options, Room};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

pub fn serve(args: &ServeArgs) -> Result<()> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let root = catalogue::repository_root(&cwd)?;
    let katas = catalogue::columns(&root)?;
    let db = args
        .db
        .clone()
        .unwrap_or_else(|| root.join(".kata").join("room").join("room.db"));
    // A couple of workers is plenty: every request is a lookup in memory.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("room")
        .enable_all()
        .build()
        .context("cannot start the room's runtime")?;
    runtime.block_on(async {
        let room = Room::open(Options {
            db: &db,
            katas,
            code: args.code.as_deref(),
            unlock_through: args.unlock_through,
        })
        .await
        .with_context(|| format!("cannot open the room in {}", db.display()))?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let local = listener
            .local_addr()
            .context("cannot read the address the room listens on")?;
        announce(local, &room)?;
        room_server::run(listener, room, shutdown_signal()).await
    })
}

/// Prints where the room is. The first line is for tools: they read the port from it.
fn announce(local: SocketAddr, room: &Room) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{local}")?;
    out.flush()?;
    let public = SocketAddr::new(reachable_ip(local.ip()), local.port());
    let code = room.code();
    writeln!(out, "room code: {code}")?;
    writeln!(out, "learners join with:")?;
    writeln!(
        out,
        "    cargo kata join http://{public} --code {code} --name \"Your Name\""
    )?;
    writeln!(
        out,
        "instructor dashboard (keep it to yourself): http://{public}/?key={}",
        room.key()
    )?;
    writeln!(out, "projector: http://{public}/?code={code}")?;
    writeln!(
        out,
        "Ctrl-C stops the room; it is kept in its database for next time."
    )?;
    out.flush()?;
    Ok(())
}

/// The address learners can reach: the one listened on, or, when listening on every
/// interface, the one this machine's traffic leaves from.
fn reachable_ip(listening: IpAddr) -> IpAddr {
    if !listening.is_unspecified() {
        return listening;
    }
    // Connecting a UDP socket sends nothing: it only asks the kernel for the route, and so for
    // the address of the interface that route leaves from. 192.0.2.1 is reserved for examples.
    let outgoing = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|socket| {
            socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9))?;
            socket.local_addr()
        })
        .map(|addr| addr.ip());
    match outgoing {
        Ok(ip) if !ip.is_unspecified() => ip,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    eprintln!("closing the room...");
}
