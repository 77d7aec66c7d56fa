//! Grading a class: each student's kata sources laid over the instructor's pristine katas, in a
//! workspace of their own outside the instructor's checkout, built and tested confined by the
//! same runner as `run`, and turned into grades.

pub mod class;
pub mod distinct;
pub mod outputs;
pub mod results;
pub mod review;
pub mod session;
pub mod similarity;
pub mod tree;
