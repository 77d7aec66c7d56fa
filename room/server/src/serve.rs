//! `serve`: the instructor's workshop room, a live dashboard of every learner.

use crate::ServeArgs;
use anyhow::{Context, Result};
use room_server::{catalogue, files, Opened, Options, PacingFrom, Room};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};

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
    let key_file = key_file(&db);
    // A key made at this start is in the key file before the room saves its hash, with the
    // address asked for; once the room listens, the file gets the address it really has.
    let asked = format!("http://{}", args.listen);
    let keep_key = |key: &str| -> Result<Option<files::Staged>> {
        files::Staged::write(&key_file, &dashboard_address(&asked, key)).map(Some)
    };
    runtime.block_on(async {
        let opened = Room::open(Options {
            db: &db,
            katas,
            new_room: args.new_room,
            code: args.code.as_deref(),
            unlock_through: args.unlock_through,
            replace_pacing: args.replace_pacing,
            rotate_key: args.rotate_key,
            max_learners: usize::try_from(args.max_learners).unwrap_or(usize::MAX),
            joins_per_minute: args.joins_per_minute,
            keep_key: &keep_key,
        })
        .await
        .with_context(|| format!("cannot open the room in {}", db.display()))?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let local = listener
            .local_addr()
            .context("cannot read the address the room listens on")?;
        let public = SocketAddr::new(reachable_ip(local.ip()), local.port());
        opened.room.set_address(format!("http://{public}"));
        let key_kept = keep_dashboard_address(&opened, &key_file, public)?;
        announce(local, public, &db, &opened, &key_file, key_kept, args)?;
        room_server::run(listener, opened.room, shutdown_signal()).await
    })
}

/// Where the instructor's dashboard address (with the key) is kept: beside the database,
/// readable by the instructor only. The database itself keeps only the key's hash.
fn key_file(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".instructor");
    PathBuf::from(name)
}

/// The instructor's dashboard address, as the key file holds it.
fn dashboard_address(base: &str, key: &str) -> String {
    format!("{base}/?key={key}\n")
}

/// Writes the dashboard address to the key file: with a key made at this start, or the key the
/// file already holds (the port may have changed). False when the key is not on this machine.
/// The file is replaced whole or not at all, so a failure leaves the key in it.
fn keep_dashboard_address(opened: &Opened, file: &Path, public: SocketAddr) -> Result<bool> {
    let key = match &opened.new_key {
        Some(key) => Some(key.clone()),
        None => std::fs::read_to_string(file)
            .ok()
            .and_then(|text| text.rsplit("?key=").next().map(|k| k.trim().to_string()))
            .filter(|key| opened.room.is_instructor(key)),
    };
    let Some(key) = key else {
        return Ok(false);
    };
    files::write_private(file, &dashboard_address(&format!("http://{public}"), &key)).context(
        "the dashboard address in the key file could not be updated for this start (the key in \
         it still works)",
    )?;
    Ok(true)
}

/// Prints where the room is. The first line is for tools: they read the port from it. The
/// instructor's key is never printed: this screen is the one shown to the room.
fn announce(
    local: SocketAddr,
    public: SocketAddr,
    db: &Path,
    opened: &Opened,
    key_file: &Path,
    key_kept: bool,
    args: &ServeArgs,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{local}")?;
    out.flush()?;
    let code = opened.room.code();
    if opened.created {
        writeln!(out, "new room in {}", db.display())?;
    } else {
        let learners = match opened.learners {
            1 => "1 learner".to_string(),
            n => format!("{n} learners"),
        };
        writeln!(
            out,
            "room reopened from {}: {learners} restored",
            db.display()
        )?;
    }
    writeln!(out, "room code: {code}")?;
    let open = match opened.pacing.unlocked_through {
        Some(last) => format!("katas 1 to {last} open, the rest locked"),
        None => "every kata open".to_string(),
    };
    let from = match (opened.pacing_from, opened.ignored_unlock) {
        (PacingFrom::Given, _) if args.unlock_through.is_some() => {
            "from --unlock-through".to_string()
        }
        (PacingFrom::Given, _) if opened.created => "a new room".to_string(),
        (PacingFrom::Given, _) => "--replace-pacing without --unlock-through".to_string(),
        (PacingFrom::Stored, None) => "stored in the room".to_string(),
        (PacingFrom::Stored, Some(n)) => format!(
            "stored in the room; --unlock-through {n} not used: add --replace-pacing to use it"
        ),
    };
    writeln!(out, "pacing: {open} ({from})")?;
    writeln!(out, "learners join with:")?;
    writeln!(
        out,
        "    cargo kata join http://{public} --code {code} --name \"Your Name\""
    )?;
    writeln!(out, "projector: http://{public}/?code={code}")?;
    if key_kept {
        writeln!(
            out,
            "instructor dashboard: open the address in {} (only you can read that file)",
            key_file.display()
        )?;
    } else {
        writeln!(
            out,
            "instructor dashboard: the instructor key is not on this machine ({} is missing); \
             start serve with --rotate-key for a new one",
            key_file.display()
        )?;
    }
    let reach = if local.ip().is_unspecified() {
        "every network this machine is on"
    } else if local.ip().is_loopback() {
        "this machine only"
    } else {
        "that network"
    };
    writeln!(
        out,
        "note: the room speaks plain HTTP, not HTTPS, on {local} ({reach}): anyone on a network \
         it is reached through can read the room code and learners' tokens as they pass. A token \
         lets its holder report results as that learner and read the pacing, nothing else. Open \
         the dashboard on this machine so the instructor key stays off the network."
    )?;
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
