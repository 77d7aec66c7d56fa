//! Grading a class: each student's kata sources laid over the instructor's pristine katas, built
//! together in one workspace, run by the same runner as `run`, and turned into grades.

pub mod class;
pub mod distinct;
pub mod outputs;
pub mod results;
pub mod review;
pub mod similarity;
pub mod tree;
