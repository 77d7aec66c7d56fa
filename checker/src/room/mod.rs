//! The learner's side of the workshop room: `join`, and the background sync that reports every
//! result. The room's server is a crate of its own (room/server); the two share only the
//! protocol crate, re-exported here as `wire`. See docs/workshop.md for the HTTP routes.

pub mod client;
pub mod sync;

pub use room_protocol as wire;

use crate::progress::{Pacing, Status};

impl From<wire::Pacing> for Pacing {
    fn from(pacing: wire::Pacing) -> Pacing {
        Pacing {
            unlocked_through: pacing.unlocked_through,
        }
    }
}

impl From<Status> for wire::Status {
    fn from(status: Status) -> wire::Status {
        match status {
            Status::NotStarted => wire::Status::NotStarted,
            Status::Failing => wire::Status::Failing,
            Status::Passed => wire::Status::Passed,
            Status::PassedAfterSolution => wire::Status::PassedAfterSolution,
        }
    }
}
