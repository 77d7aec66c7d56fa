//! The room in memory: every learner's row, the pacing and the summary, the rules for changing
//! them, and the live feed of changes.
//!
//! Reads never touch the disk. Each change happens under one short lock that also queues its
//! write and publishes its event, so the database, the feed and memory see changes in the same
//! order. The caller then waits for the commit, without the lock, before answering.

use crate::secrets::{self, TokenHash};
use crate::store::{Store, Write, WriteError};
use crate::summary::Tally;
use anyhow::Result;
use axum::response::sse::Event;
use room_protocol::{
    Ack, JoinRequest, Joined, KataColumn, KataState, LearnerRow, Pacing, Removed, Report, RoomView,
    Status, Summary,
};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};
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
    /// 500: the change could not be saved.
    Failed(String),
}

/// A change made in memory whose write may still be committing.
pub struct Pending<T> {
    pub answer: T,
    committed: Option<oneshot::Receiver<Result<(), WriteError>>>,
}

impl<T> Pending<T> {
    fn done(answer: T) -> Pending<T> {
        Pending {
            answer,
            committed: None,
        }
    }

    /// The answer, once its write has committed.
    pub async fn committed(self) -> Result<T, Refusal> {
        if let Some(committed) = self.committed {
            match committed.await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => return Err(Refusal::Failed(err)),
                Err(_) => return Err(Refusal::Failed("the room's database stopped".into())),
            }
        }
        Ok(self.answer)
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
    /// Names fold case, so "ada" cannot join beside "Ada".
    by_name: HashMap<String, usize>,
    pacing: Pacing,
    tally: Tally,
    summary: Summary,
}

impl State {
    /// Rebuilds the lookups from the learners' positions, after a load or a removal.
    fn index(&mut self) {
        self.by_id.clear();
        self.by_token.clear();
        self.by_name.clear();
        for (i, learner) in self.learners.iter().enumerate() {
            self.by_id.insert(learner.row.learner.clone(), i);
            self.by_token.insert(learner.token, i);
            self.by_name.insert(fold(&learner.row.name), i);
        }
    }
}

struct Shared {
    katas: Vec<KataColumn>,
    code: String,
    key: String,
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
    /// Replaces the stored room code.
    pub code: Option<&'a str>,
    /// Replaces the stored pacing.
    pub unlock_through: Option<u32>,
}

fn fold(name: &str) -> String {
    name.to_lowercase()
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

impl Room {
    /// Loads the room from its database, creating what is missing (code, key), and applies
    /// the options given at start.
    pub async fn open(options: Options<'_>) -> Result<Room> {
        let (store, loaded) = Store::open(options.db)?;
        let code = match (options.code, loaded.room_code) {
            (Some(code), stored) => {
                secrets::check_room_code(code)?;
                if stored.as_deref() != Some(code) {
                    store
                        .commit(Write::RoomCode(code.to_string()))
                        .await
                        .map_err(anyhow::Error::msg)?;
                }
                code.to_string()
            }
            (None, Some(stored)) => stored,
            (None, None) => {
                let code = secrets::room_code()?;
                store
                    .commit(Write::RoomCode(code.clone()))
                    .await
                    .map_err(anyhow::Error::msg)?;
                code
            }
        };
        let key = match loaded.instructor_key {
            Some(key) => key,
            None => {
                let key = secrets::instructor_key()?;
                store
                    .commit(Write::InstructorKey(key.clone()))
                    .await
                    .map_err(anyhow::Error::msg)?;
                key
            }
        };
        let mut pacing = loaded.pacing;
        if let Some(last) = options.unlock_through {
            pacing.unlocked_through = Some(last);
            store
                .commit(Write::Pacing(pacing))
                .await
                .map_err(anyhow::Error::msg)?;
        }

        let mut tally = Tally::new(options.katas.iter().map(|k| k.name.clone()).collect());
        let mut state = State {
            learners: Vec::with_capacity(loaded.learners.len()),
            by_id: HashMap::new(),
            by_token: HashMap::new(),
            by_name: HashMap::new(),
            pacing,
            tally: Tally::new(Vec::new()),
            summary: Summary::default(),
        };
        for (row, token) in loaded.learners {
            tally.add(&row.katas);
            state.learners.push(Learner { row, token });
        }
        state.index();
        state.summary = tally.summary();
        state.tally = tally;

        let (feed, _) = broadcast::channel(FEED_CAPACITY);
        let (closing, _) = watch::channel(false);
        Ok(Room {
            shared: Arc::new(Shared {
                katas: options.katas,
                code,
                key,
                state: Mutex::new(state),
                feed,
                closing,
                store,
            }),
        })
    }

    pub fn code(&self) -> &str {
        &self.shared.code
    }

    pub fn key(&self) -> &str {
        &self.shared.key
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
        secrets::same_secret(key, &self.shared.key)
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

    pub fn join(&self, request: JoinRequest) -> Result<Pending<Joined>, Refusal> {
        if !secrets::same_room_code(&request.room_code, &self.shared.code) {
            return Err(Refusal::Forbidden(
                "wrong room code: ask the instructor for the room's code".into(),
            ));
        }
        let name = valid_name(&request.name)?;
        let mut state = self.state();
        let rejoining = request.token.as_deref().and_then(|token| {
            let hash = secrets::token_hash(token);
            state.by_token.get(&hash).map(|&i| (i, token.to_string()))
        });
        let held_by = state.by_name.get(&fold(&name)).copied();
        if held_by.is_some() && held_by != rejoining.as_ref().map(|(i, _)| *i) {
            return Err(Refusal::Conflict(format!(
                "someone in the room is already called `{name}`: choose another name"
            )));
        }
        let pacing = state.pacing;
        let (i, token) = match rejoining {
            Some((i, token)) => {
                let old = fold(&state.learners[i].row.name);
                if state.learners[i].row.name == name {
                    // Same learner, same name: nothing to save.
                    let answer = Joined {
                        learner: state.learners[i].row.learner.clone(),
                        token,
                        pacing,
                    };
                    return Ok(Pending::done(answer));
                }
                state.by_name.remove(&old);
                state.by_name.insert(fold(&name), i);
                state.learners[i].row.name = name;
                (i, token)
            }
            None => {
                let token = secrets::learner_token().map_err(|e| Refusal::Failed(e.to_string()))?;
                let mut id = secrets::learner_id().map_err(|e| Refusal::Failed(e.to_string()))?;
                while state.by_id.contains_key(&id) {
                    id = secrets::learner_id().map_err(|e| Refusal::Failed(e.to_string()))?;
                }
                let hash = secrets::token_hash(&token);
                let i = state.learners.len();
                state.by_id.insert(id.clone(), i);
                state.by_token.insert(hash, i);
                state.by_name.insert(fold(&name), i);
                state.learners.push(Learner {
                    row: LearnerRow {
                        learner: id,
                        name,
                        seq: 0,
                        updated_at: 0,
                        katas: Default::default(),
                    },
                    token: hash,
                });
                (i, token)
            }
        };
        let learner = &state.learners[i];
        let committed = self.shared.store.write(Write::Learner {
            row: learner.row.clone(),
            token: learner.token,
        });
        self.publish(event("learner", &learner.row));
        let answer = Joined {
            learner: learner.row.learner.clone(),
            token,
            pacing,
        };
        Ok(Pending {
            answer,
            committed: Some(committed),
        })
    }

    pub fn report(&self, token: &str, report: Report) -> Result<Pending<Ack>, Refusal> {
        let hash = secrets::token_hash(token);
        let mut state = self.state();
        let Some(&i) = state.by_token.get(&hash) else {
            return Err(Refusal::Unauthorized(
                "unknown learner token: join the room first (`cargo kata join`)".into(),
            ));
        };
        if !secrets::same_room_code(&report.room_code, &self.shared.code) {
            return Err(Refusal::Forbidden(
                "wrong room code: this report is for another room".into(),
            ));
        }
        let pacing = state.pacing;
        let stored = &state.learners[i].row;
        // A learner who never reported takes any seq; after that only newer ones count.
        if stored.updated_at != 0 && report.seq <= stored.seq {
            return Ok(Pending::done(Ack {
                seq: stored.seq,
                pacing,
            }));
        }
        let seq = report.seq;
        let katas = self.valid_katas(report)?;
        let state = &mut *state;
        let learner = &mut state.learners[i];
        state.tally.remove(&learner.row.katas);
        state.tally.add(&katas);
        learner.row.katas = katas;
        learner.row.seq = seq;
        learner.row.updated_at = now_millis().max(1);
        let committed = self.shared.store.write(Write::Learner {
            row: learner.row.clone(),
            token: learner.token,
        });
        self.publish(event("learner", &learner.row));
        let summary = state.tally.summary();
        if summary != state.summary {
            self.publish(event("summary", &summary));
            state.summary = summary;
        }
        Ok(Pending {
            answer: Ack { seq, pacing },
            committed: Some(committed),
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

    /// Takes a learner out of the room: their row goes, and their token no longer reports.
    pub fn remove(&self, learner: &str) -> Result<Pending<Removed>, Refusal> {
        let mut state = self.state();
        let Some(&i) = state.by_id.get(learner) else {
            return Err(Refusal::NotFound(format!(
                "no learner `{learner}` in this room"
            )));
        };
        let gone = state.learners.remove(i);
        state.index();
        state.tally.remove(&gone.row.katas);
        let committed = self.shared.store.write(Write::Forget {
            learner: gone.row.learner.clone(),
        });
        let removed = Removed {
            learner: gone.row.learner,
        };
        self.publish(event("removed", &removed));
        let summary = state.tally.summary();
        if summary != state.summary {
            self.publish(event("summary", &summary));
            state.summary = summary;
        }
        Ok(Pending {
            answer: removed,
            committed: Some(committed),
        })
    }

    pub fn set_pacing(&self, pacing: Pacing) -> Pending<Pacing> {
        let mut state = self.state();
        if state.pacing == pacing {
            return Pending::done(pacing);
        }
        state.pacing = pacing;
        let committed = self.shared.store.write(Write::Pacing(pacing));
        self.publish(event("pacing", &pacing));
        Pending {
            answer: pacing,
            committed: Some(committed),
        }
    }
}

/// The trimmed name, if it is one a dashboard can show.
fn valid_name(name: &str) -> Result<String, Refusal> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err(Refusal::Invalid("the name is empty".into()));
    }
    if chars > room_protocol::MAX_NAME_CHARS {
        return Err(Refusal::Invalid(format!(
            "the name is {chars} characters long; the most is {}",
            room_protocol::MAX_NAME_CHARS
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Refusal::Invalid(
            "the name holds control characters (tabs, newlines, ...)".into(),
        ));
    }
    Ok(name.to_string())
}
