//! The room in memory: every learner's row, the pacing and the summary, the rules for changing
//! them, and the live feed of changes.
//!
//! Reads never touch the disk. A change is checked under one short lock, which also queues its
//! write, so writes reach the database in the order they were checked. Memory and the live feed
//! change only once the write has committed (the store runs the change on its thread, in queue
//! order), and the request is answered after that: a 200 means the change is on disk, and a
//! change that failed to save leaves nothing behind, not in memory, not on the dashboard.

use crate::files::Staged;
use crate::gate::JoinGate;
use crate::names;
use crate::secrets::{self, TokenHash};
use crate::store::{Done, Store, Write, WriteError};
use crate::summary::Tally;
use anyhow::{bail, Context, Result};
use axum::response::sse::Event;
use room_protocol::{
    Ack, JoinInfo, JoinRequest, Joined, KataColumn, KataState, LearnerRow, Pacing, Removed,
    RemovedMany, Report, RoomView, Status, Storage, Summary,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{broadcast, oneshot, watch};

/// Events a slow viewer may fall behind by before it gets the whole room again instead.
const FEED_CAPACITY: usize = 1024;

/// What a request got wrong, and the status that says so.
#[derive(Debug)]
pub enum Refusal {
    /// 401
    Unauthorized(String),
    /// 403
    Forbidden(String),
    /// 404
    NotFound(String),
    /// 409
    Conflict(String),
    /// 422
    Invalid(String),
    /// 429: try again after the given time.
    TooSoon(String, Duration),
    /// 500: the change could not be saved.
    Failed(String),
}

/// A change whose answer may still wait for its write to commit.
pub enum Pending<T> {
    Done(T),
    Waiting(oneshot::Receiver<Result<T, Refusal>>),
}

impl<T> Pending<T> {
    /// The answer, once its write has committed.
    pub async fn committed(self) -> Result<T, Refusal> {
        match self {
            Pending::Done(answer) => Ok(answer),
            Pending::Waiting(answer) => answer
                .await
                .unwrap_or_else(|_| Err(Refusal::Failed("the room's database is closed".into()))),
        }
    }
}

/// Who is asking to see the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Instructor,
    Projector,
}

struct Learner {
    row: LearnerRow,
    token: TokenHash,
}

struct State {
    learners: Vec<Learner>,
    by_id: HashMap<String, usize>,
    by_token: HashMap<TokenHash, usize>,
    /// By `names::look_alike_key`, so "Lіnus" cannot join beside "Linus".
    by_look: HashMap<String, usize>,
    /// Names of joins and renames still being saved: taken, though nobody holds them yet.
    reserved: HashSet<String>,
    /// Joins still being saved, counted against the room's size.
    joining: usize,
    pacing: Pacing,
    tally: Tally,
    summary: Summary,
    storage: Storage,
}

impl State {
    /// Rebuilds the lookups from the learners' positions, after a load or a removal.
    fn index(&mut self) {
        self.by_id.clear();
        self.by_token.clear();
        self.by_look.clear();
        for (i, learner) in self.learners.iter().enumerate() {
            self.by_id.insert(learner.row.learner.clone(), i);
            self.by_token.insert(learner.token, i);
            self.by_look
                .insert(names::look_alike_key(&learner.row.name), i);
        }
    }

    /// Publishes the summary if it changed.
    fn refresh_summary(&mut self, room: &Room) {
        let summary = self.tally.summary();
        if summary != self.summary {
            room.publish(event("summary", &summary));
            self.summary = summary;
        }
    }
}

struct Shared {
    katas: Vec<KataColumn>,
    code: String,
    key: TokenHash,
    /// Where learners join: set by serve once it listens.
    address: OnceLock<String>,
    max_learners: usize,
    gate: JoinGate,
    state: Mutex<State>,
    feed: broadcast::Sender<Event>,
    closing: watch::Sender<bool>,
    store: Store,
}

/// The room: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Room {
    shared: Arc<Shared>,
}

/// How the room is set up at start.
pub struct Options<'a> {
    pub db: &'a Path,
    /// The columns, in course order.
    pub katas: Vec<KataColumn>,
    /// Make a new room: the database must not hold one yet. Without it, it must.
    pub new_room: bool,
    /// Replaces the stored room code.
    pub code: Option<&'a str>,
    /// The pacing of a new room, or with `replace_pacing` of this one.
    pub unlock_through: Option<u32>,
    /// Let `unlock_through` replace the stored pacing (None opens every kata).
    pub replace_pacing: bool,
    /// Issue a new instructor key; the old one stops working.
    pub rotate_key: bool,
    pub max_learners: usize,
    /// Joins per minute (and in a burst) from one address; 0 for no limit.
    pub joins_per_minute: u32,
    /// Writes down a key made (or moved out of the database) at this start, where the
    /// instructor can read it, before the room saves its hash; the room puts the staged file in
    /// place once the hash is saved. None: there is no file to put in place.
    pub keep_key: &'a dyn Fn(&str) -> Result<Option<Staged>>,
}

/// Where the pacing in force came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacingFrom {
    /// The room's saved pacing, set at an earlier start or on the dashboard.
    Stored,
    /// `--unlock-through` (a new room, or `--replace-pacing`).
    Given,
}

/// What opening the room found and did, for serve to say.
pub struct Opened {
    pub room: Room,
    pub created: bool,
    pub learners: usize,
    pub pacing: Pacing,
    pub pacing_from: PacingFrom,
    /// `--unlock-through` given, but the stored pacing kept.
    pub ignored_unlock: Option<u32>,
    /// A key made (or moved out of the database) at this start: the only time it is known.
    pub new_key: Option<String>,
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn event<T: serde::Serialize>(kind: &str, value: &T) -> Event {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    Event::default().event(kind).data(json)
}

fn failed(err: WriteError) -> Refusal {
    Refusal::Failed(err)
}

/// Runs `change` once the write committed, and sends its answer; a failed write answers 500.
fn answer_when_saved<T: Send + 'static>(
    change: impl FnOnce() -> Result<T, Refusal> + Send + 'static,
    undo: impl FnOnce() + Send + 'static,
) -> (Done, oneshot::Receiver<Result<T, Refusal>>) {
    let (tx, rx) = oneshot::channel();
    let done: Done = Box::new(move |outcome| {
        let answer = match outcome {
            Ok(()) => change(),
            Err(err) => {
                undo();
                Err(failed(err))
            }
        };
        let _ = tx.send(answer);
    });
    (done, rx)
}

impl Room {
    /// Loads the room from its database (or makes a new one, with `new_room`) and applies the
    /// options given at start.
    pub async fn open(options: Options<'_>) -> Result<Opened> {
        let (store, loaded) = Store::open(options.db, options.new_room)?;
        let db = options.db.display();
        match (&loaded.room_code, options.new_room) {
            (Some(code), true) => bail!(
                "{db} already holds a room (code {code}, learners: {}): start serve without \
                 --new-room to reopen it, or give --db another file for a new room",
                loaded.learners.len()
            ),
            (None, false) => bail!(
                "{db} holds no room (an empty database): start a new room with --new-room, or \
                 give --db the room's database"
            ),
            _ => {}
        }
        if let Some(last) = options.unlock_through {
            if !options.katas.iter().any(|k| k.order == last) {
                bail!(
                    "--unlock-through {last}: this repository's katas are numbered {}",
                    numbering(&options.katas)
                );
            }
        }
        if let Some(code) = options.code {
            secrets::check_room_code(code)?;
        }
        let writes = &store;
        let save =
            move |write| async move { writes.commit(write).await.map_err(anyhow::Error::msg) };

        // The key first: a new room whose key cannot be kept is left with nothing saved in it.
        let (key, new_key) = match (loaded.instructor_key, loaded.legacy_key) {
            (Some(hash), _) if !options.rotate_key => (hash, None),
            // An older room kept the key itself: keep it working, but keep only its hash.
            (None, Some(legacy)) if !options.rotate_key => {
                (secrets::token_hash(&legacy), Some(legacy))
            }
            _ => {
                let key = secrets::instructor_key()?;
                (secrets::token_hash(&key), Some(key))
            }
        };
        if let Some(new_key) = &new_key {
            // Written down (and synced) before its hash is saved, and put in place after: when
            // any step fails, the key that works is one the instructor can read.
            let staged = (options.keep_key)(new_key).context(
                "the instructor key could not be written down, so the room's key was not changed: \
                 fix that and start serve again (with --rotate-key if the old key is lost)",
            )?;
            // Failing here drops `staged`, which deletes it: the old key stays in force.
            save(Write::InstructorKey(key)).await?;
            if let Some(staged) = staged {
                let (temp, file) = (staged.temp().to_path_buf(), staged.path().to_path_buf());
                staged.publish().with_context(|| {
                    format!(
                        "the room now has a new instructor key, but it could not be put where serve \
                         keeps it: the key is in {}; move that file to {}, or start serve again with \
                         --rotate-key for another key",
                        temp.display(),
                        file.display()
                    )
                })?;
            }
        }

        let code = match (options.code, loaded.room_code) {
            (Some(code), stored) => {
                if stored.as_deref() != Some(code) {
                    save(Write::RoomCode(code.to_string())).await?;
                }
                code.to_string()
            }
            (None, Some(stored)) => stored,
            (None, None) => {
                let code = secrets::room_code()?;
                save(Write::RoomCode(code.clone())).await?;
                code
            }
        };

        let (pacing, pacing_from, ignored_unlock) = if options.new_room || options.replace_pacing {
            let pacing = Pacing {
                unlocked_through: options.unlock_through,
            };
            if pacing != loaded.pacing {
                save(Write::Pacing(pacing)).await?;
            }
            (pacing, PacingFrom::Given, None)
        } else {
            let ignored = options
                .unlock_through
                .filter(|&n| loaded.pacing.unlocked_through != Some(n));
            (loaded.pacing, PacingFrom::Stored, ignored)
        };

        let mut tally = Tally::new(options.katas.iter().map(|k| k.name.clone()).collect());
        let learners: Vec<Learner> = loaded
            .learners
            .into_iter()
            .map(|(row, token)| {
                tally.add(&row.katas);
                Learner { row, token }
            })
            .collect();
        let count = learners.len();
        let mut state = State {
            learners,
            by_id: HashMap::new(),
            by_token: HashMap::new(),
            by_look: HashMap::new(),
            reserved: HashSet::new(),
            joining: 0,
            pacing,
            summary: tally.summary(),
            tally,
            storage: Storage::default(),
        };
        state.index();

        let (feed, _) = broadcast::channel(FEED_CAPACITY);
        let (closing, _) = watch::channel(false);
        let storage = store.storage();
        let room = Room {
            shared: Arc::new(Shared {
                katas: options.katas,
                code,
                key,
                address: OnceLock::new(),
                max_learners: options.max_learners,
                gate: JoinGate::new(options.joins_per_minute),
                state: Mutex::new(state),
                feed,
                closing,
                store,
            }),
        };
        room.follow_storage(storage);
        Ok(Opened {
            room,
            created: options.new_room,
            learners: count,
            pacing,
            pacing_from,
            ignored_unlock,
            new_key,
        })
    }

    /// Shows the database's health on the dashboard as it changes. Ends with the writer.
    fn follow_storage(&self, mut storage: watch::Receiver<Storage>) {
        let room = self.clone();
        tokio::spawn(async move {
            while storage.changed().await.is_ok() {
                let now = storage.borrow_and_update().clone();
                let mut state = room.state();
                state.storage = now.clone();
                room.publish(event("storage", &now));
            }
        });
    }

    pub fn code(&self) -> &str {
        &self.shared.code
    }

    /// Sets the address the projector shows in its join command.
    pub fn set_address(&self, address: String) {
        let _ = self.shared.address.set(address);
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; if something did, the data is still whole
        // (every change is complete before the lock is let go), so keep serving it.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Who the `?code=` or `?key=` of a page request lets in, if anyone.
    pub fn viewer(&self, code: Option<&str>, key: Option<&str>) -> Option<Viewer> {
        if key.is_some_and(|key| self.is_instructor(key)) {
            Some(Viewer::Instructor)
        } else if code.is_some_and(|code| secrets::same_room_code(code, &self.shared.code)) {
            Some(Viewer::Projector)
        } else {
            None
        }
    }

    pub fn is_instructor(&self, key: &str) -> bool {
        secrets::same_hash(&secrets::token_hash(key), &self.shared.key)
    }

    pub fn is_learner(&self, token: &str) -> bool {
        self.state()
            .by_token
            .contains_key(&secrets::token_hash(token))
    }

    fn view(&self, state: &State) -> RoomView {
        RoomView {
            katas: self.shared.katas.clone(),
            learners: state.learners.iter().map(|l| l.row.clone()).collect(),
            summary: state.summary.clone(),
            pacing: state.pacing,
            join: JoinInfo {
                address: self.shared.address.get().cloned().unwrap_or_default(),
                code: self.shared.code.clone(),
            },
            storage: state.storage.clone(),
        }
    }

    pub fn room_view(&self) -> RoomView {
        self.view(&self.state())
    }

    pub fn pacing(&self) -> Pacing {
        self.state().pacing
    }

    /// The whole room as a `room` event, and the feed of changes from that moment on.
    pub fn follow(&self) -> (Event, broadcast::Receiver<Event>) {
        let state = self.state();
        let view = self.view(&state);
        // Subscribing under the lock: no change is missed, and none is sent twice.
        let feed = self.shared.feed.subscribe();
        drop(state);
        (event("room", &view), feed)
    }

    /// Resolves when the server shuts down, so live feeds end and let it.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.shared.closing.subscribe()
    }

    /// Ends every live feed: the server is shutting down.
    pub fn close_feeds(&self) {
        self.shared.closing.send_replace(true);
    }

    /// Commits what is queued and closes the database.
    pub async fn close(&self) {
        self.close_feeds();
        self.shared.store.close().await;
    }

    fn publish(&self, event: Event) {
        // Nobody watching is fine.
        let _ = self.shared.feed.send(event);
    }

    /// Queues `write`; false (and a 500) when the database is closed.
    fn queue(&self, write: Write, done: Done) -> Result<(), Refusal> {
        if self.shared.store.write(write, done) {
            Ok(())
        } else {
            Err(Refusal::Failed("the room's database is closed".into()))
        }
    }

    /// Counts a join attempt from `address` against its allowance.
    pub fn admit_join(&self, address: IpAddr) -> Result<(), Refusal> {
        self.shared.gate.admit(address).map_err(|wait| {
            Refusal::TooSoon(
                format!(
                    "too many joins from {address}: try again in {} s",
                    wait.as_secs().max(1)
                ),
                wait,
            )
        })
    }

    pub fn join(&self, request: JoinRequest) -> Result<Pending<Joined>, Refusal> {
        if !secrets::same_room_code(&request.room_code, &self.shared.code) {
            return Err(Refusal::Forbidden(
                "wrong room code: ask the instructor for the room's code".into(),
            ));
        }
        let name = names::normalise(&request.name).map_err(Refusal::Invalid)?;
        let look = names::look_alike_key(&name);
        let mut state = self.state();
        let rejoining = request.token.as_deref().and_then(|token| {
            let hash = secrets::token_hash(token);
            state.by_token.get(&hash).map(|&i| (i, token.to_string()))
        });
        let held_by = state.by_look.get(&look).copied();
        let taken = match (held_by, &rejoining) {
            (Some(holder), Some((me, _))) => holder != *me,
            (Some(_), None) => true,
            (None, _) => state.reserved.contains(&look),
        };
        if taken {
            let holder = held_by.map_or(name.as_str(), |i| state.learners[i].row.name.as_str());
            return Err(Refusal::Conflict(format!(
                "someone in the room is already called `{holder}`, which looks the same as \
                 `{name}`: choose another name"
            )));
        }
        let pacing = state.pacing;
        if let Some((i, token)) = rejoining {
            let learner = state.learners[i].row.learner.clone();
            let joined = Joined {
                learner: learner.clone(),
                token,
                pacing,
            };
            // Written even when it is the saved name: a rename before it may still be on its
            // way to the disk, and the name asked for last must be the one that stays.
            state.reserved.insert(look.clone());
            let (room, undo_room, look_done, look_undo) =
                (self.clone(), self.clone(), look.clone(), look);
            let new_name = name.clone();
            let (done, answer) = answer_when_saved(
                move || {
                    room.renamed(&learner, new_name, &look_done)?;
                    Ok(joined)
                },
                move || {
                    undo_room.state().reserved.remove(&look_undo);
                },
            );
            let write = Write::Rename {
                learner: state.learners[i].row.learner.clone(),
                name,
            };
            self.queue(write, done)?;
            return Ok(Pending::Waiting(answer));
        }

        let size = state.learners.len() + state.joining;
        if size >= self.shared.max_learners {
            return Err(Refusal::Conflict(format!(
                "the room is full ({} learners): ask the instructor (serve --max-learners)",
                self.shared.max_learners
            )));
        }
        let token = secrets::learner_token().map_err(|e| Refusal::Failed(e.to_string()))?;
        let mut id = secrets::learner_id().map_err(|e| Refusal::Failed(e.to_string()))?;
        while state.by_id.contains_key(&id) {
            id = secrets::learner_id().map_err(|e| Refusal::Failed(e.to_string()))?;
        }
        let learner = Learner {
            row: LearnerRow {
                learner: id.clone(),
                name,
                seq: 0,
                updated_at: 0,
                katas: Default::default(),
            },
            token: secrets::token_hash(&token),
        };
        let write = Write::Join {
            row: learner.row.clone(),
            token: learner.token,
        };
        state.reserved.insert(look.clone());
        state.joining += 1;
        let joined = Joined {
            learner: id,
            token,
            pacing,
        };
        let (room, undo_room, look_undo) = (self.clone(), self.clone(), look.clone());
        let (done, answer) = answer_when_saved(
            move || {
                room.joined(learner, &look);
                Ok(joined)
            },
            move || {
                let mut state = undo_room.state();
                state.reserved.remove(&look_undo);
                state.joining -= 1;
            },
        );
        self.queue(write, done)?;
        Ok(Pending::Waiting(answer))
    }

    /// A join has been saved: the learner is in the room.
    fn joined(&self, learner: Learner, look: &str) {
        let mut state = self.state();
        state.reserved.remove(look);
        state.joining -= 1;
        let i = state.learners.len();
        state.by_id.insert(learner.row.learner.clone(), i);
        state.by_token.insert(learner.token, i);
        state.by_look.insert(look.to_string(), i);
        self.publish(event("learner", &learner.row));
        state.learners.push(learner);
    }

    /// A rename has been saved. A removal committed before it leaves nobody to rename (the
    /// database changed no row): the learner's token is dead, so they hear to join again.
    fn renamed(&self, learner: &str, name: String, look: &str) -> Result<(), Refusal> {
        let mut state = self.state();
        state.reserved.remove(look);
        let Some(&i) = state.by_id.get(learner) else {
            return Err(Refusal::Unauthorized(
                "the instructor removed you from the room: join it again".into(),
            ));
        };
        let old = names::look_alike_key(&state.learners[i].row.name);
        state.by_look.remove(&old);
        state.by_look.insert(look.to_string(), i);
        state.learners[i].row.name = name;
        self.publish(event("learner", &state.learners[i].row));
        Ok(())
    }

    pub fn report(&self, token: &str, report: Report) -> Result<Pending<Ack>, Refusal> {
        // Checked before anything else, the seq included: an invalid report is refused even
        // when it is not newer than the saved one (it needs no state, so it takes no lock).
        let seq = report.seq;
        let room_code = report.room_code.clone();
        let katas = self.valid_katas(report)?;
        let hash = secrets::token_hash(token);
        let state = self.state();
        let Some(&i) = state.by_token.get(&hash) else {
            return Err(Refusal::Unauthorized(
                "unknown learner token: join the room first (`cargo kata join`)".into(),
            ));
        };
        if !secrets::same_room_code(&room_code, &self.shared.code) {
            return Err(Refusal::Forbidden(
                "wrong room code: this report is for another room".into(),
            ));
        }
        let stored = &state.learners[i].row;
        // Only what is saved counts here: a report whose write failed left the saved row as it
        // was, so its retry is newer and is written again.
        if !is_newer(stored, seq) {
            return Ok(Pending::Done(Ack {
                seq: stored.seq,
                pacing: state.pacing,
            }));
        }
        let learner = stored.learner.clone();
        let updated_at = now_millis().max(1);
        let write = Write::Report {
            learner: learner.clone(),
            seq,
            updated_at,
            katas: katas.clone(),
        };
        let room = self.clone();
        let (done, answer) = answer_when_saved(
            move || room.reported(&learner, seq, updated_at, katas),
            || {},
        );
        // Queued under the lock: the database sees reports in the order they were checked.
        self.queue(write, done)?;
        drop(state);
        Ok(Pending::Waiting(answer))
    }

    /// A report has been saved (the database kept it only if it was newer; so does memory).
    fn reported(
        &self,
        learner: &str,
        seq: u64,
        updated_at: u64,
        katas: BTreeMap<String, KataState>,
    ) -> Result<Ack, Refusal> {
        let mut state = self.state();
        let Some(&i) = state.by_id.get(learner) else {
            return Err(Refusal::Unauthorized(
                "the instructor removed you from the room: join it again".into(),
            ));
        };
        let pacing = state.pacing;
        if is_newer(&state.learners[i].row, seq) {
            let state = &mut *state;
            let row = &mut state.learners[i].row;
            state.tally.remove(&row.katas);
            state.tally.add(&katas);
            row.katas = katas;
            row.seq = seq;
            row.updated_at = updated_at;
            self.publish(event("learner", row));
            state.refresh_summary(self);
        }
        Ok(Ack {
            seq: state.learners[i].row.seq,
            pacing,
        })
    }

    /// The report's katas, once the report is known to make sense.
    fn valid_katas(&self, report: Report) -> Result<BTreeMap<String, KataState>, Refusal> {
        if report.protocol != room_protocol::PROTOCOL {
            return Err(Refusal::Invalid(format!(
                "this room speaks protocol {}, not {}: update the checker",
                room_protocol::PROTOCOL,
                report.protocol
            )));
        }
        if i64::try_from(report.seq).is_err() {
            return Err(Refusal::Invalid(format!("seq {} is too large", report.seq)));
        }
        let mut katas = report.katas;
        for (name, state) in katas.iter_mut() {
            if !self.shared.katas.iter().any(|k| &k.name == name) {
                return Err(Refusal::Invalid(format!(
                    "unknown kata `{name}`: this room's katas are {}..{}",
                    self.shared.katas.first().map_or("", |k| k.name.as_str()),
                    self.shared.katas.last().map_or("", |k| k.name.as_str()),
                )));
            }
            for (what, count) in [("attempts", state.attempts), ("hints", state.hints)] {
                if count > room_protocol::MAX_COUNT {
                    return Err(Refusal::Invalid(format!(
                        "`{name}` has {count} {what}; the most a report may carry is {}",
                        room_protocol::MAX_COUNT
                    )));
                }
            }
            if let Some(failure) = &state.failure {
                let chars = failure.chars().count();
                if chars > room_protocol::MAX_FAILURE_CHARS {
                    return Err(Refusal::Invalid(format!(
                        "the failure of `{name}` is {chars} characters long; the most is {}",
                        room_protocol::MAX_FAILURE_CHARS
                    )));
                }
            }
            // A failure only means something while the kata fails.
            if state.status != Status::Failing {
                state.failure = None;
            }
        }
        Ok(katas)
    }

    /// Takes several learners out at once: all of them, or (when one is not in the room) none.
    pub fn remove_many(&self, learners: Vec<String>) -> Result<Pending<RemovedMany>, Refusal> {
        let state = self.state();
        let mut unique = Vec::with_capacity(learners.len());
        for learner in learners {
            if !state.by_id.contains_key(&learner) {
                return Err(Refusal::NotFound(format!(
                    "no learner `{learner}` in this room: nobody was removed"
                )));
            }
            if !unique.contains(&learner) {
                unique.push(learner);
            }
        }
        if unique.is_empty() {
            return Ok(Pending::Done(RemovedMany { learners: unique }));
        }
        let room = self.clone();
        let gone = unique.clone();
        let (done, answer) = answer_when_saved(move || Ok(room.removed(gone)), || {});
        self.queue(Write::Forget { learners: unique }, done)?;
        drop(state);
        Ok(Pending::Waiting(answer))
    }

    /// A removal has been saved.
    fn removed(&self, learners: Vec<String>) -> RemovedMany {
        let mut state = self.state();
        let state = &mut *state;
        let gone: HashSet<&String> = learners.iter().collect();
        let (kept, removed): (Vec<Learner>, Vec<Learner>) = std::mem::take(&mut state.learners)
            .into_iter()
            .partition(|l| !gone.contains(&l.row.learner));
        state.learners = kept;
        state.index();
        for learner in &removed {
            state.tally.remove(&learner.row.katas);
            self.publish(event(
                "removed",
                &Removed {
                    learner: learner.row.learner.clone(),
                },
            ));
        }
        state.refresh_summary(self);
        RemovedMany {
            learners: removed.into_iter().map(|l| l.row.learner).collect(),
        }
    }

    /// The instructor's new pacing, once it is known to name one of the room's katas.
    pub fn set_pacing(&self, pacing: Pacing) -> Result<Pending<Pacing>, Refusal> {
        if let Some(last) = pacing.unlocked_through {
            if !self.shared.katas.iter().any(|k| k.order == last) {
                return Err(Refusal::Invalid(format!(
                    "unlocked_through {last} is not one of this room's katas (numbered {}); \
                     null opens every kata",
                    numbering(&self.shared.katas)
                )));
            }
        }
        // Always written, even when it equals the saved pacing: an earlier change may still be
        // on its way to the disk, and the last one asked for must be the one that stays.
        let state = self.state();
        let room = self.clone();
        let (done, answer) = answer_when_saved(
            move || {
                let mut state = room.state();
                state.pacing = pacing;
                room.publish(event("pacing", &pacing));
                Ok(pacing)
            },
            || {},
        );
        self.queue(Write::Pacing(pacing), done)?;
        drop(state);
        Ok(Pending::Waiting(answer))
    }
}

/// Whether a report numbered `seq` is newer than the saved row. A learner who never reported
/// takes any seq; after that only newer ones count.
fn is_newer(saved: &LearnerRow, seq: u64) -> bool {
    saved.updated_at == 0 || seq > saved.seq
}

/// "1 to 30": the room's kata numbers, for error messages.
fn numbering(katas: &[KataColumn]) -> String {
    let first = katas.iter().map(|k| k.order).min().unwrap_or(0);
    let last = katas.iter().map(|k| k.order).max().unwrap_or(0);
    format!("{first} to {last}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use room_protocol::KataColumn;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A new room in `db`, with three katas.
    fn options(db: &Path) -> Options<'_> {
        Options {
            db,
            katas: (1..=3)
                .map(|order| KataColumn {
                    name: format!("0{order}-k"),
                    order,
                    title: "k".into(),
                })
                .collect(),
            new_room: true,
            code: Some("test"),
            unlock_through: None,
            replace_pacing: false,
            rotate_key: false,
            max_learners: 10,
            joins_per_minute: 0,
            keep_key: &no_key_file,
        }
    }

    fn no_key_file(_: &str) -> Result<Option<Staged>> {
        Ok(None)
    }

    async fn open(options: Options<'_>) -> Room {
        Room::open(options).await.unwrap().room
    }

    /// Holds the database's writer, as a slow disk would, until the returned sender sends or is
    /// dropped: writes queued meanwhile are neither committed nor applied to memory before it.
    fn hold_writer(room: &Room) -> std::sync::mpsc::Sender<()> {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let queued = room.shared.store.write(
            Write::Pacing(room.pacing()),
            Box::new(move |_| {
                let _ = held.recv();
            }),
        );
        assert!(queued, "the database is open");
        release
    }

    fn request(name: &str, token: Option<&str>) -> JoinRequest {
        JoinRequest {
            room_code: "test".into(),
            name: name.into(),
            token: token.map(str::to_string),
        }
    }

    #[test]
    fn the_name_asked_for_last_stays_though_a_rename_before_it_was_still_being_saved() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("room.db");
        runtime().block_on(async {
            let room = open(options(&db)).await;
            let ada = room
                .join(request("Ada", None))
                .unwrap()
                .committed()
                .await
                .unwrap();
            let release = hold_writer(&room);
            let to_bob = room.join(request("Bob", Some(&ada.token))).unwrap();
            // Back to the saved name while the rename to Bob is still on its way to the disk.
            let back = room.join(request("Ada", Some(&ada.token))).unwrap();
            release.send(()).unwrap();
            to_bob.committed().await.unwrap();
            back.committed().await.unwrap();
            let name = |room: &Room| room.room_view().learners[0].name.clone();
            assert_eq!(name(&room), "Ada", "the last name asked for stays");
            room.close().await;

            let room = open(Options {
                new_room: false,
                ..options(&db)
            })
            .await;
            assert_eq!(name(&room), "Ada", "and it is the one on disk");
            room.close().await;
        });
    }

    #[test]
    fn a_rename_saved_after_the_learner_was_removed_is_refused_not_answered_with_a_dead_token() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("room.db");
        runtime().block_on(async {
            let room = open(options(&db)).await;
            let ada = room
                .join(request("Ada", None))
                .unwrap()
                .committed()
                .await
                .unwrap();
            let release = hold_writer(&room);
            let removal = room.remove_many(vec![ada.learner.clone()]).unwrap();
            // Checked while the removal is still being saved: Ada is still in the room.
            let rename = room.join(request("Ada L.", Some(&ada.token))).unwrap();
            release.send(()).unwrap();
            removal.committed().await.unwrap();
            match rename.committed().await {
                Err(Refusal::Unauthorized(message)) => {
                    assert!(message.contains("join it again"), "{message}")
                }
                Err(other) => panic!("refused, but not as a removed learner: {other:?}"),
                Ok(joined) => panic!("answered with a token that no longer works: {joined:?}"),
            }
            assert!(!room.is_learner(&ada.token));
            assert!(room.room_view().learners.is_empty());
            room.close().await;
        });
    }
}
