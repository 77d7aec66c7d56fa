//! The workshop room: an instructor's live dashboard (`serve`) and the learner's side of it
//! (`join`, and the background sync that reports every result).
//!
//! `wire` is the contract between the two: the JSON both sides send, and the limits the server
//! enforces. See docs/workshop.md for the HTTP routes.

pub mod server;
pub mod wire;
