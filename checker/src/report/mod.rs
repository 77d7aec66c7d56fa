//! Reporters: the ways results are shown. They listen to runner events and never start processes.

pub mod json;
#[cfg(feature = "grading")]
pub mod progress_bar;
pub mod terminal;
