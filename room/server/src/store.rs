//! The room on disk: one SQLite database, written by one thread that owns the connection.
//!
//! Writes queue up while a transaction commits and go in together in the next one, so a busy
//! room costs one commit per batch, not one per report. Each write carries what to do once it
//! has committed or failed (`Done`); the writer runs those in queue order, so the room in memory
//! changes only after, and in the same order as, the database. The writer also watches the file:
//! a database deleted or replaced under the room, or one that cannot be written, is reported as
//! the room's `Storage` problem and every write fails until it is fixed.

use crate::files;
use crate::secrets::{hex, TokenHash};
use anyhow::{bail, Context, Result};
use room_protocol::{KataState, LearnerRow, Pacing, Storage};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// The most writes one transaction takes; more wait for the next.
const MAX_BATCH: usize = 1024;
/// How often an idle writer looks whether its database file is still there.
const CHECK_EVERY: Duration = Duration::from_secs(2);

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS learners (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        token_sha256 TEXT NOT NULL UNIQUE,
        seq INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        katas TEXT NOT NULL
    );
";

const ROOM_CODE: &str = "room_code";
/// Rooms made before keys were hashed kept the key itself here; it is hashed on open.
const INSTRUCTOR_KEY_PLAIN: &str = "instructor_key";
const INSTRUCTOR_KEY_HASH: &str = "instructor_key_sha256";
const UNLOCKED_THROUGH: &str = "unlocked_through";

/// One change to the stored room.
#[derive(Debug)]
pub enum Write {
    /// A new learner's row.
    Join {
        row: LearnerRow,
        token: TokenHash,
    },
    Rename {
        learner: String,
        name: String,
    },
    /// A learner's results; kept only if `seq` is newer than the saved one (or nothing was
    /// reported yet), so reports committed out of order leave the newest.
    Report {
        learner: String,
        seq: u64,
        updated_at: u64,
        katas: BTreeMap<String, KataState>,
    },
    /// The instructor removed these learners.
    Forget {
        learners: Vec<String>,
    },
    RoomCode(String),
    InstructorKey(TokenHash),
    Pacing(Pacing),
}

/// The stored room, as loaded at start.
#[derive(Debug, Default)]
pub struct Loaded {
    pub room_code: Option<String>,
    pub instructor_key: Option<TokenHash>,
    /// A key stored in plain text by an older room, now hashed: still the instructor's.
    pub legacy_key: Option<String>,
    pub pacing: Pacing,
    /// In the order they joined.
    pub learners: Vec<(LearnerRow, TokenHash)>,
}

/// Why a write did not commit.
pub type WriteError = String;

/// What to do once a write has committed or failed; run on the writer's thread, in queue order.
pub type Done = Box<dyn FnOnce(Result<(), WriteError>) + Send>;

enum Job {
    Write(Write, Done),
    /// Commit what is queued, fold the write-ahead log into the database and stop.
    Close(oneshot::Sender<()>),
}

pub struct Store {
    jobs: mpsc::Sender<Job>,
    writer: Mutex<Option<JoinHandle<()>>>,
    storage: watch::Receiver<Storage>,
}

impl Store {
    /// Opens the database at `path` and loads the room from it. Only `create` makes a database
    /// that does not exist yet: a room that vanished must not quietly become a new one.
    pub fn open(path: &Path, create: bool) -> Result<(Store, Loaded)> {
        if files::exists(path)? {
            files::make_private(path)?;
        } else if create {
            files::create_private(path)?;
        } else {
            bail!(
                "there is no room in {} (no such file): start a new room with --new-room, or \
                 give --db the room's database",
                path.display()
            );
        }
        let conn = Connection::open(path).map_err(|e| {
            explained(
                e.into(),
                &format!("cannot open the room database {}", path.display()),
            )
        })?;
        let loaded = prepare(&conn, create, path).map_err(|e| {
            explained(
                e,
                &format!("cannot read the room database {}", path.display()),
            )
        })?;
        // SQLite gives its log and index files the database's mode; a room made before that
        // may have left them readable by everyone.
        for extra in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(extra);
            if files::exists(Path::new(&name))? {
                files::make_private(Path::new(&name))?;
            }
        }
        let identity = files::identity(path)?;
        let (health, storage) = watch::channel(Storage::default());
        let (jobs, queue) = mpsc::channel();
        let writer = Writer {
            conn: Some(conn),
            path: path.to_path_buf(),
            identity,
            health,
            rescued: false,
            rescued_to: None,
        };
        let writer = std::thread::Builder::new()
            .name("room-store".into())
            .spawn(move || writer.run(queue))
            .context("cannot start the room's database writer")?;
        let store = Store {
            jobs,
            writer: Mutex::new(Some(writer)),
            storage,
        };
        Ok((store, loaded))
    }

    /// Queues a write; `done` runs once it has committed or failed. False when the database
    /// is closed: `done` is then dropped without running.
    pub fn write(&self, write: Write, done: Done) -> bool {
        self.jobs.send(Job::Write(write, done)).is_ok()
    }

    /// Writes and waits for the commit.
    pub async fn commit(&self, write: Write) -> Result<(), WriteError> {
        let (tx, rx) = oneshot::channel();
        let queued = self.write(
            write,
            Box::new(move |outcome| {
                let _ = tx.send(outcome);
            }),
        );
        if !queued {
            return Err("the room's database is closed".into());
        }
        rx.await
            .unwrap_or_else(|_| Err("the room's database writer stopped".into()))
    }

    /// Whether the database takes writes, as it changes.
    pub fn storage(&self) -> watch::Receiver<Storage> {
        self.storage.clone()
    }

    /// Commits everything queued and stops the writer; later writes fail.
    pub async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.jobs.send(Job::Close(done)).is_ok() {
            let _ = closed.await;
        }
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(writer) = writer {
            // It has finished its last commit already; joining only reaps the thread.
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
    }
}

/// `context: error`, with a hint only where the error's kind says what to do.
fn explained(err: anyhow::Error, context: &str) -> anyhow::Error {
    let code = err
        .downcast_ref::<rusqlite::Error>()
        .and_then(rusqlite::Error::sqlite_error_code);
    let hint = match code {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            "another `cargo kata serve` is using it: stop that one first"
        }
        Some(ErrorCode::NotADatabase) => {
            "it is not a SQLite database, or its first page is damaged: move it away and start \
             a new room with --new-room, or give --db the right file"
        }
        Some(ErrorCode::DatabaseCorrupt) => {
            "the file is damaged: keep a copy, then try `sqlite3 FILE .recover`, or start a new \
             room with --new-room"
        }
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            "check that the file and its folder exist and that you may write them"
        }
        Some(ErrorCode::DiskFull) => "the disk is full",
        _ => "",
    };
    if hint.is_empty() {
        err.context(context.to_string())
    } else {
        err.context(format!("{context} ({hint})"))
    }
}

/// Sets the connection up, creates the tables and reads the whole room.
/// Without `create`, a database without the room's tables is refused before anything is
/// written to it: an empty file, or some other program's database.
fn prepare(conn: &Connection, create: bool, path: &Path) -> Result<Loaded> {
    // The room is one process's: an exclusive lock keeps a second server off the same file,
    // and that second server should hear so quickly.
    conn.busy_timeout(std::time::Duration::from_millis(500))?;
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'learners')",
        [],
        |r| r.get(0),
    )?;
    if tables < 2 && !create {
        bail!(
            "{} holds no room (an empty database, or not a room's): start a new room with \
             --new-room, or give --db the room's database",
            path.display()
        );
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // A 200 means the change is on disk, power cut included: FULL syncs the log at every commit
    // (NORMAL would leave the last commits in the OS's cache, and a power cut would lose changes
    // already acknowledged). Writes are committed in batches, so it is one sync per batch.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(SCHEMA)?;

    let meta = |key: &str| -> Result<Option<String>> {
        Ok(conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    };
    let pacing = Pacing {
        unlocked_through: meta(UNLOCKED_THROUGH)?.and_then(|v| v.parse().ok()),
    };
    let instructor_key = match meta(INSTRUCTOR_KEY_HASH)? {
        Some(hash) => Some(parse_hash(&hash).context("the instructor key's hash")?),
        None => None,
    };
    let mut loaded = Loaded {
        room_code: meta(ROOM_CODE)?,
        instructor_key,
        legacy_key: meta(INSTRUCTOR_KEY_PLAIN)?,
        pacing,
        learners: Vec::new(),
    };

    let mut select = conn.prepare(
        "SELECT id, name, token_sha256, seq, updated_at, katas FROM learners ORDER BY rowid",
    )?;
    let mut rows = select.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let katas: String = r.get(5)?;
        let katas: BTreeMap<String, KataState> = serde_json::from_str(&katas)
            .with_context(|| format!("learner {id}'s results are not valid JSON"))?;
        let token: String = r.get(2)?;
        let token = parse_hash(&token).with_context(|| format!("learner {id}'s token hash"))?;
        let seq: i64 = r.get(3)?;
        let updated_at: i64 = r.get(4)?;
        let row = LearnerRow {
            name: r.get(1)?,
            seq: u64::try_from(seq).unwrap_or(0),
            updated_at: u64::try_from(updated_at).unwrap_or(0),
            katas,
            learner: id,
        };
        loaded.learners.push((row, token));
    }
    Ok(loaded)
}

fn parse_hash(text: &str) -> Result<TokenHash> {
    let mut hash = [0u8; 32];
    anyhow::ensure!(text.len() == 64, "not 64 hex digits");
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2).unwrap_or("x"), 16)?;
    }
    Ok(hash)
}

/// The thread that owns the connection.
struct Writer {
    /// None once the database was found gone: nothing is written any more.
    conn: Option<Connection>,
    path: PathBuf,
    /// The file opened, to notice another one (or none) at its path later.
    identity: files::Identity,
    health: watch::Sender<Storage>,
    /// Whether a copy of a vanished database was attempted already.
    rescued: bool,
    /// Where that copy is, once it is whole.
    rescued_to: Option<PathBuf>,
}

impl Writer {
    fn run(mut self, queue: mpsc::Receiver<Job>) {
        loop {
            let first = match queue.recv_timeout(CHECK_EVERY) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Err(problem) = self.check_file() {
                        self.report(Err(problem));
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let mut writes = Vec::with_capacity(batch.len());
            let mut closing = Vec::new();
            for job in batch {
                match job {
                    Job::Write(write, done) => writes.push((write, done)),
                    Job::Close(done) => closing.push(done),
                }
            }
            if !writes.is_empty() {
                self.commit_batch(writes);
            }
            if !closing.is_empty() {
                if let Some(conn) = self.conn.take() {
                    // Fold the log into the database so the file alone holds the room.
                    if let Err(err) = conn.pragma_update(None, "wal_checkpoint", "TRUNCATE") {
                        eprintln!("room: could not checkpoint the database: {err}");
                    }
                }
                for done in closing {
                    let _ = done.send(());
                }
                return;
            }
        }
    }

    /// Commits the writes together; when that fails, each alone, so that one write the
    /// database refuses does not fail the others. Each write's `Done` then runs, in order.
    fn commit_batch(&mut self, writes: Vec<(Write, Done)>) {
        let together = self.check_file().and_then(|conn| {
            commit(conn, writes.iter().map(|(w, _)| w)).map_err(|e| format!("{e:#}"))
        });
        let outcomes: Vec<Result<(), WriteError>> = match together {
            Ok(()) => vec![Ok(()); writes.len()],
            Err(err) if writes.len() == 1 => vec![Err(err)],
            Err(_) => writes
                .iter()
                .map(|(write, _)| {
                    self.check_file().and_then(|conn| {
                        commit(conn, std::iter::once(write)).map_err(|e| format!("{e:#}"))
                    })
                })
                .collect(),
        };
        let overall = outcomes
            .iter()
            .find(|o| o.is_err())
            .cloned()
            .unwrap_or(Ok(()));
        self.report(overall);
        for ((_, done), outcome) in writes.into_iter().zip(outcomes) {
            done(outcome);
        }
    }

    /// The connection, if the database file is still the one the room opened.
    fn check_file(&mut self) -> Result<&mut Connection, WriteError> {
        let same_file = files::identity(&self.path).is_ok_and(|now| now == self.identity);
        if self.conn.is_some() && !same_file {
            // Keep what the room holds: the open connection still reads the old file.
            if !self.rescued {
                self.rescued = true;
                self.rescue();
            }
            self.conn = None;
        }
        if self.conn.is_none() {
            return Err(self.gone_message());
        }
        self.conn
            .as_mut()
            .ok_or_else(|| "the room's database is closed".to_string())
    }

    fn rescue_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".rescued");
        PathBuf::from(name)
    }

    /// Copies the room, from the file still open, next to where its database was: into a new
    /// file, never over an earlier copy (one from an earlier incident may be all that is left of
    /// that room). A copy that fails half-way is deleted, so no file passes for a copy.
    fn rescue(&mut self) {
        let Some(conn) = self.conn.as_ref() else {
            return;
        };
        let wanted = self.rescue_path();
        let target = match files::create_private_fresh(&wanted) {
            Ok(target) => target,
            Err(err) => {
                eprintln!(
                    "room: could not copy the room to {}: {err:#}",
                    wanted.display()
                );
                return;
            }
        };
        match conn.execute("VACUUM INTO ?1", [target.to_string_lossy()]) {
            Ok(_) => self.rescued_to = Some(target),
            Err(err) => {
                eprintln!(
                    "room: could not copy the room to {}: {err}",
                    target.display()
                );
                if let Err(err) = std::fs::remove_file(&target) {
                    eprintln!(
                        "room: could not delete the unfinished copy {}: {err}",
                        target.display()
                    );
                }
            }
        }
    }

    fn gone_message(&self) -> WriteError {
        let copy = match &self.rescued_to {
            Some(rescue) => format!(
                "the room as it was is copied to {}: stop serve, move that file to {} and start \
                 serve again",
                rescue.display(),
                self.path.display()
            ),
            None => {
                "no copy could be made; stop serve and start it again with --new-room".to_string()
            }
        };
        format!(
            "the room's database {} was deleted or replaced while the room was open, so nothing \
             new is saved; {copy}",
            self.path.display()
        )
    }

    /// Publishes whether writes work, and says so on serve's output when that changes.
    fn report(&self, outcome: Result<(), WriteError>) {
        let storage = Storage {
            problem: outcome.err().map(|err| {
                if err.contains("was deleted or replaced") {
                    err
                } else {
                    format!(
                        "the room cannot save to {}: {err}; nothing new is kept until it can \
                         (learners' results wait on their machines and are sent again)",
                        self.path.display()
                    )
                }
            }),
        };
        let changed = self.health.send_if_modified(|now| {
            if *now == storage {
                return false;
            }
            *now = storage.clone();
            true
        });
        if changed {
            match &storage.problem {
                Some(problem) => eprintln!("room: {problem}"),
                None => eprintln!("room: saving again: the database takes writes"),
            }
        }
    }
}

fn commit<'a>(conn: &mut Connection, writes: impl Iterator<Item = &'a Write>) -> Result<()> {
    let tx = conn.transaction()?;
    {
        // Prepared once per batch (rusqlite's statement cache is not compiled in).
        let mut insert = tx.prepare(
            "INSERT INTO learners (id, name, token_sha256, seq, updated_at, katas)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut report = tx.prepare(
            "UPDATE learners SET seq = ?2, updated_at = ?3, katas = ?4
             WHERE id = ?1 AND (updated_at = 0 OR seq < ?2)",
        )?;
        for write in writes {
            match write {
                Write::Join { row, token } => {
                    insert.execute(params![
                        row.learner,
                        row.name,
                        hex(token),
                        i64::try_from(row.seq)?,
                        i64::try_from(row.updated_at)?,
                        serde_json::to_string(&row.katas)?
                    ])?;
                }
                Write::Rename { learner, name } => {
                    tx.execute(
                        "UPDATE learners SET name = ?2 WHERE id = ?1",
                        params![learner, name],
                    )?;
                }
                Write::Report {
                    learner,
                    seq,
                    updated_at,
                    katas,
                } => {
                    report.execute(params![
                        learner,
                        i64::try_from(*seq)?,
                        i64::try_from(*updated_at)?,
                        serde_json::to_string(katas)?
                    ])?;
                }
                Write::Forget { learners } => {
                    for learner in learners {
                        tx.execute("DELETE FROM learners WHERE id = ?1", params![learner])?;
                    }
                }
                Write::RoomCode(code) => set_meta(&tx, ROOM_CODE, Some(code))?,
                Write::InstructorKey(hash) => {
                    set_meta(&tx, INSTRUCTOR_KEY_HASH, Some(&hex(hash)))?;
                    set_meta(&tx, INSTRUCTOR_KEY_PLAIN, None)?;
                }
                Write::Pacing(pacing) => set_meta(
                    &tx,
                    UNLOCKED_THROUGH,
                    pacing.unlocked_through.map(|n| n.to_string()).as_deref(),
                )?,
            }
        }
    }
    tx.commit()?;
    Ok(())
}

fn set_meta(conn: &Connection, key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(value) => conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            params![key, value],
        )?,
        None => conn.execute("DELETE FROM meta WHERE key = ?1", [key])?,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use room_protocol::Status;

    #[test]
    fn every_commit_is_synced_to_disk_before_it_is_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("room.db");
        files::create_private(&path).unwrap();
        let conn = Connection::open(&path).unwrap();
        prepare(&conn, true, &path).unwrap();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        let synchronous: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        // 2 is FULL: the log is synced at every commit, not only at checkpoints (1, NORMAL).
        assert_eq!(synchronous, 2, "synchronous is FULL");
    }

    #[test]
    fn the_room_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("room/room.db");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            assert!(
                Store::open(&path, false).is_err(),
                "no room is made unasked"
            );
            let (store, loaded) = Store::open(&path, true).unwrap();
            assert!(loaded.room_code.is_none() && loaded.learners.is_empty());
            let row = LearnerRow {
                learner: "abc".into(),
                name: "Ada".into(),
                seq: 3,
                updated_at: 99,
                katas: BTreeMap::from([(
                    "01-lazy-futures".into(),
                    KataState {
                        status: Status::Failing,
                        attempts: 2,
                        hints: 1,
                        failure: Some("boom".into()),
                    },
                )]),
            };
            let token = super::super::secrets::token_hash("t");
            store.commit(Write::RoomCode("k7q".into())).await.unwrap();
            store
                .commit(Write::Pacing(Pacing {
                    unlocked_through: Some(4),
                }))
                .await
                .unwrap();
            store
                .commit(Write::Join {
                    row: row.clone(),
                    token,
                })
                .await
                .unwrap();
            store.close().await;
            assert!(store.commit(Write::RoomCode("x".into())).await.is_err());

            let (store, loaded) = Store::open(&path, false).unwrap();
            assert_eq!(loaded.room_code.as_deref(), Some("k7q"));
            assert_eq!(loaded.pacing.unlocked_through, Some(4));
            assert_eq!(loaded.learners.len(), 1);
            assert_eq!(loaded.learners[0].0.katas, row.katas);
            assert_eq!(loaded.learners[0].1, token);
            store.close().await;
        });
    }
}
