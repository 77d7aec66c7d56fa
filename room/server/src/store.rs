//! The room on disk: one SQLite database, written by one thread that owns the connection.
//!
//! Writes queue up while a transaction commits and go in together in the next one, so a busy
//! room costs one commit per batch, not one per report. Whoever queued a write learns when it
//! has committed, and only then answers its learner.

use crate::secrets::{hex, TokenHash};
use anyhow::{Context, Result};
use room_protocol::{KataState, LearnerRow, Pacing};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{mpsc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// The most writes one transaction takes; more wait for the next.
const MAX_BATCH: usize = 1024;

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
const INSTRUCTOR_KEY: &str = "instructor_key";
const UNLOCKED_THROUGH: &str = "unlocked_through";

/// One change to the stored room.
#[derive(Debug)]
pub enum Write {
    /// Insert or replace a learner's row.
    Learner {
        row: LearnerRow,
        token: TokenHash,
    },
    /// Delete a learner's row: the instructor removed them from the room.
    Forget {
        learner: String,
    },
    RoomCode(String),
    InstructorKey(String),
    Pacing(Pacing),
}

/// The stored room, as loaded at start.
#[derive(Debug, Default)]
pub struct Loaded {
    pub room_code: Option<String>,
    pub instructor_key: Option<String>,
    pub pacing: Pacing,
    /// In the order they joined.
    pub learners: Vec<(LearnerRow, TokenHash)>,
}

/// Why a write did not commit.
pub type WriteError = String;

enum Job {
    Write(Write, oneshot::Sender<Result<(), WriteError>>),
    /// Commit what is queued, fold the write-ahead log into the database and stop.
    Close(oneshot::Sender<()>),
}

pub struct Store {
    jobs: mpsc::Sender<Job>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and loads the room from it.
    pub fn open(path: &Path) -> Result<(Store, Loaded)> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the room database {}", path.display()))?;
        let loaded = prepare(&conn).with_context(|| {
            format!(
                "cannot read the room database {} (is another `cargo kata serve` using it?)",
                path.display()
            )
        })?;
        let (jobs, queue) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("room-store".into())
            .spawn(move || write_loop(conn, queue))
            .context("cannot start the room's database writer")?;
        let store = Store {
            jobs,
            writer: Mutex::new(Some(writer)),
        };
        Ok((store, loaded))
    }

    /// Queues a write; the answer comes once it has committed (or failed to).
    pub fn write(&self, write: Write) -> oneshot::Receiver<Result<(), WriteError>> {
        let (done, committed) = oneshot::channel();
        if let Err(mpsc::SendError(Job::Write(_, done))) = self.jobs.send(Job::Write(write, done)) {
            let _ = done.send(Err("the room's database is closed".into()));
        }
        committed
    }

    /// Writes and waits for the commit.
    pub async fn commit(&self, write: Write) -> Result<(), WriteError> {
        self.write(write)
            .await
            .unwrap_or_else(|_| Err("the room's database writer stopped".into()))
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

/// Sets the connection up, creates the tables and reads the whole room.
fn prepare(conn: &Connection) -> Result<Loaded> {
    // The room is one process's: an exclusive lock keeps a second server off the same file,
    // and that second server should hear so quickly.
    conn.busy_timeout(std::time::Duration::from_millis(500))?;
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // In WAL mode NORMAL loses no committed transaction when the process dies, only (perhaps)
    // the last ones when the machine loses power: a fair trade for a workshop.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(SCHEMA)?;

    let meta = |key: &str| -> Result<Option<String>> {
        Ok(conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    };
    let pacing = Pacing {
        unlocked_through: meta(UNLOCKED_THROUGH)?.and_then(|v| v.parse().ok()),
    };
    let mut loaded = Loaded {
        room_code: meta(ROOM_CODE)?,
        instructor_key: meta(INSTRUCTOR_KEY)?,
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

fn write_loop(mut conn: Connection, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let writes = batch.iter().filter_map(|job| match job {
            Job::Write(write, _) => Some(write),
            Job::Close(_) => None,
        });
        let outcome = commit(&mut conn, writes).map_err(|e| format!("{e:#}"));
        if let Err(err) = &outcome {
            eprintln!("room: could not save to the database: {err}");
        }
        let mut closing = Vec::new();
        for job in batch {
            match job {
                Job::Write(_, done) => {
                    let _ = done.send(outcome.clone());
                }
                Job::Close(done) => closing.push(done),
            }
        }
        if !closing.is_empty() {
            // Fold the log into the database so the file alone holds the room.
            if let Err(err) = conn.pragma_update(None, "wal_checkpoint", "TRUNCATE") {
                eprintln!("room: could not checkpoint the database: {err}");
            }
            drop(conn);
            for done in closing {
                let _ = done.send(());
            }
            return;
        }
    }
}

fn commit<'a>(conn: &mut Connection, writes: impl Iterator<Item = &'a Write>) -> Result<()> {
    let tx = conn.transaction()?;
    {
        // Prepared once per batch (rusqlite's statement cache is not compiled in).
        let mut upsert = tx.prepare(
            "INSERT INTO learners (id, name, token_sha256, seq, updated_at, katas)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name,
                token_sha256 = excluded.token_sha256, seq = excluded.seq,
                updated_at = excluded.updated_at, katas = excluded.katas",
        )?;
        for write in writes {
            match write {
                Write::Learner { row, token } => {
                    upsert.execute(params![
                        row.learner,
                        row.name,
                        hex(token),
                        i64::try_from(row.seq)?,
                        i64::try_from(row.updated_at)?,
                        serde_json::to_string(&row.katas)?
                    ])?;
                }
                Write::Forget { learner } => {
                    tx.execute("DELETE FROM learners WHERE id = ?1", params![learner])?;
                }
                Write::RoomCode(code) => set_meta(&tx, ROOM_CODE, Some(code))?,
                Write::InstructorKey(key) => set_meta(&tx, INSTRUCTOR_KEY, Some(key))?,
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
    fn the_room_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("room/room.db");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (store, loaded) = Store::open(&path).unwrap();
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
            let writes = [
                store.write(Write::RoomCode("k7q".into())),
                store.write(Write::Pacing(Pacing {
                    unlocked_through: Some(4),
                })),
                store.write(Write::Learner {
                    row: row.clone(),
                    token,
                }),
            ];
            for write in writes {
                write.await.unwrap().unwrap();
            }
            store.close().await;
            assert!(store.commit(Write::RoomCode("x".into())).await.is_err());

            let (store, loaded) = Store::open(&path).unwrap();
            assert_eq!(loaded.room_code.as_deref(), Some("k7q"));
            assert_eq!(loaded.pacing.unlocked_through, Some(4));
            assert_eq!(loaded.learners.len(), 1);
            assert_eq!(loaded.learners[0].0.katas, row.katas);
            assert_eq!(loaded.learners[0].1, token);
            store.close().await;
        });
    }
}
