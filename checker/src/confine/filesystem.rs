//! Files under Landlock: each path of the policy gets the rights its kind allows, and everything
//! else gets none. The sandbox also stops signals to processes outside it and connections to
//! abstract Unix sockets outside it.

use super::Policy;
use anyhow::{bail, Context, Result};
use landlock::{
    make_bitflags, Access, AccessFs, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};
use std::path::Path;

/// The newest Landlock this code knows; an older kernel gets what it supports of it.
const TARGET: ABI = ABI::V7;

pub fn restrict(policy: &Policy) -> Result<()> {
    let read: BitFlags<AccessFs> = make_bitflags!(AccessFs::{ReadFile | ReadDir});
    let run = read | AccessFs::Execute;
    let write = AccessFs::from_all(TARGET);
    let file = AccessFs::from_file(TARGET);
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(TARGET))?
        .scope(Scope::Signal | Scope::AbstractUnixSocket)?
        .create()?;
    let folders = [
        (&policy.read, read),
        (&policy.run, run),
        (&policy.write, write),
    ];
    let files = [
        (&policy.read_files, read & file),
        (&policy.run_files, run & file),
        (
            &policy.write_files,
            (read | AccessFs::WriteFile | AccessFs::Truncate) & file,
        ),
    ];
    for (paths, access) in folders.into_iter().chain(files) {
        for path in paths.iter().filter(|p| p.exists()) {
            ruleset = ruleset.add_rule(PathBeneath::new(open(path)?, access))?;
        }
    }
    let status = ruleset.restrict_self()?;
    if status.ruleset == RulesetStatus::NotEnforced {
        bail!("this kernel does not enforce Landlock (it needs Linux 5.13 or newer, with Landlock enabled at boot)");
    }
    Ok(())
}

fn open(path: &Path) -> Result<PathFd> {
    PathFd::new(path).with_context(|| format!("cannot open {} for a Landlock rule", path.display()))
}
