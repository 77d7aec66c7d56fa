//! Exit codes, named so that scripts and tests can rely on them.

use std::process::ExitCode;

/// Everything asked for passed.
pub const SUCCESS: Code = Code(0);
/// The work ran but did not pass: a failing kata, a verify mismatch.
pub const FAILED: Code = Code(1);
/// The checker could not do what was asked: bad input, outside the repository, no toolchain.
pub const ERROR: Code = Code(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code(u8);

impl From<Code> for ExitCode {
    fn from(code: Code) -> Self {
        ExitCode::from(code.0)
    }
}

/// SUCCESS when `ok`, FAILED otherwise.
pub fn from_passed(ok: bool) -> ExitCode {
    if ok { SUCCESS } else { FAILED }.into()
}
