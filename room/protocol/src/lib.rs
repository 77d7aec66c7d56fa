//! The workshop room's protocol: the JSON the learner's checker and the room server exchange,
//! and the limits on it. Both sides depend on this crate and on nothing of each other.
//!
//! Reports carry the learner's whole row (every kata they have touched), not one result: a
//! report is idempotent, a newer one supersedes any older one, and catching up after the server
//! was unreachable is sending the latest row once.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of this protocol; a server answers 422 to reports of another version.
pub const PROTOCOL: u32 = 1;

/// Larger request bodies get 413. A full row of 30 katas with long failures is under 16 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 40;
/// Longest failure summary the server accepts, in characters; the client cuts to this.
pub const MAX_FAILURE_CHARS: usize = 300;
/// The largest attempt or hint count a report may carry; the client caps its counts here. No
/// workshop comes near it, and a dashboard cell has room for four digits.
pub const MAX_COUNT: u32 = 9_999;

/// `POST /api/join`. Answers 200 `Joined`; 403 for a wrong room code; 409 when another learner
/// holds the name (or one that looks the same) or the room is full; 422 for an empty, overlong
/// or invisible-character name; 429 when one address joins too often.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinRequest {
    pub room_code: String,
    pub name: String,
    /// The token from an earlier join: the same learner rejoins (and may change their name)
    /// instead of being refused for holding the name.
    #[serde(default)]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Joined {
    /// The learner's id in the room, stable across renames.
    pub learner: String,
    /// The secret that authorises this learner's reports: `Authorization: Bearer <token>`.
    pub token: String,
    pub pacing: Pacing,
}

/// `POST /api/report`, with `Authorization: Bearer <token>`. Answers 200 `Ack`; 401 without a
/// known token; 403 when the room code is not the room's; 413 when the body is too large; 422
/// for an unknown kata, a wrong protocol, an overlong failure or a count above `MAX_COUNT`. A
/// report whose `seq` is not newer than the saved one is acknowledged and ignored (it was
/// delivered out of order). A 200 means the row is on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub protocol: u32,
    pub room_code: String,
    /// Grows with every change to the learner's progress.
    pub seq: u64,
    /// Keyed by kata folder name (`NN-slug`); katas never touched may be left out.
    pub katas: BTreeMap<String, KataState>,
}

/// Where a learner is with one kata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    NotStarted,
    Failing,
    Passed,
    /// Passed, after the learner looked at the reference solution.
    PassedAfterSolution,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KataState {
    pub status: Status,
    pub attempts: u32,
    pub hints: u32,
    /// What the latest failing run showed first: the first failing test and its message, or
    /// the first compiler error. None unless the status is failing.
    #[serde(default)]
    pub failure: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ack {
    /// The seq the server now holds for this learner.
    pub seq: u64,
    pub pacing: Pacing,
}

/// How far the instructor has opened the course. `GET /api/pacing` (learner token) reads it;
/// `POST /api/pacing` with the instructor key sets it: that body must name `unlocked_through`
/// (a kata number of the room, or null), and nothing else, or it gets 422.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pacing {
    /// Katas whose `order` is above this are locked; None opens every kata.
    pub unlocked_through: Option<u32>,
}

impl Pacing {
    pub fn is_locked(&self, order: u32) -> bool {
        self.unlocked_through.is_some_and(|last| order > last)
    }
}

/// An error answer from the server: every 4xx carries one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

/// The dashboard's view of the room: `GET /api/room`, and the `room` event of `GET /events`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoomView {
    pub katas: Vec<KataColumn>,
    pub learners: Vec<LearnerRow>,
    pub summary: Summary,
    pub pacing: Pacing,
    /// The room code and the address learners join with, for the projector to show.
    #[serde(default)]
    pub join: JoinInfo,
    /// Why the room cannot save at the moment, if it cannot.
    #[serde(default)]
    pub storage: Storage,
}

/// What a latecomer needs to join: `cargo kata join ADDRESS --code CODE`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JoinInfo {
    pub address: String,
    pub code: String,
}

/// Whether the room's database takes writes; the `storage` event of `GET /events`, sent when it
/// changes. While `problem` is set every change is refused with 500 and nothing is lost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Storage {
    pub problem: Option<String>,
}

/// `POST /api/learners/remove` with the instructor key: several rows at once. Answers 200
/// `RemovedMany`; 404 (removing nobody) when an id is not in the room.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoveLearners {
    pub learners: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemovedMany {
    pub learners: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KataColumn {
    pub name: String,
    pub order: u32,
    pub title: String,
}

/// One learner's row; also the `learner` event of `GET /events`, sent after each report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LearnerRow {
    pub learner: String,
    pub name: String,
    pub seq: u64,
    /// Unix milliseconds of the latest accepted report.
    pub updated_at: u64,
    pub katas: BTreeMap<String, KataState>,
}

/// A learner the instructor removed (`DELETE /api/learners/{id}` with the instructor key); the
/// `removed` event of `GET /events`. Their token stops working; they may join again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Removed {
    pub learner: String,
}

/// Where the room is stuck; the `summary` event of `GET /events`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The kata with the most learners failing it (ties: the earlier kata).
    pub stuck_kata: Option<String>,
    pub failing: u32,
    /// The failure more of those learners see than any other, and how many see it. Failures
    /// are grouped by test and message, with what changes from run to run (thread ids,
    /// addresses, timings) left out. None when no failure stands out: on a tie nobody's text is
    /// picked.
    pub common_failure: Option<String>,
    pub common_failure_count: u32,
    /// How many different failures the failing learners see.
    #[serde(default)]
    pub failure_kinds: u32,
}
