//! One grading run's building and testing: the handout once, to compile the dependencies, then
//! each student in turn: their workspace, their build and their tests, confined, with nothing
//! they started left running, and their build output deleted before the next student.

use super::class::Submission;
use super::distinct::Known;
use super::tree::{GradedKata, Grounds, StudentTree};
use crate::cargo::{self, BuildSettings};
use crate::commands::until_interrupted;
use crate::confine::Policy;
use crate::events::{CrateReport, Outcome, Reporter, TestStatus};
use crate::kata::Kata;
use crate::process::reaper;
use crate::runner::{self, Check, Confinement, Options};
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The limits every student runs under.
pub struct Limits {
    pub memory_limit: u64,
    pub output_cap: usize,
    /// Test time one submission may use in all.
    pub time_limit: Duration,
    pub build_timeout: Duration,
    /// Whether builds and tests are confined (`--unconfined` turns it off).
    pub confined: bool,
}

/// What grading one student produced: a report per kata they handed in, and the problems met
/// with their files.
pub struct StudentRun {
    pub reports: Vec<(usize, CrateReport)>,
    pub problems: Vec<String>,
}

/// Builds the handout (once per change of the katas: its build output stays between runs), and
/// runs the tests of each kata with hidden tests on it. Returns, for each kata, the tests that
/// passed on the handout: a hidden test among them only guards against regressions, as a
/// released test that passes untouched does (`kata.toml` records those; nothing records the
/// hidden ones but this run).
pub fn build_handout(
    grounds: &Grounds,
    katas: &[GradedKata],
    reporter: &mut dyn Reporter,
) -> Result<Vec<BTreeSet<String>>> {
    let handout = grounds.lay_out_handout(katas)?;
    let packages: Vec<&str> = handout.crates.iter().map(|c| c.package.as_str()).collect();
    let env = cargo_env(&handout);
    let settings = BuildSettings {
        color: false,
        target_dir: Some(&handout.target),
        env: &env,
        confine: None,
        timeout: None,
    };
    let mut progress = |line: &str| reporter.event(&crate::events::Event::BuildProgress(line));
    let build = until_interrupted(cargo::build_tests(
        &handout.root,
        &packages,
        false,
        &settings,
        &mut progress,
    ))?;
    if !build.success && build.packages.is_empty() {
        anyhow::bail!(
            "the handout's dependencies did not build:\n{}",
            build.cargo_errors
        );
    }
    let mut passing = vec![BTreeSet::new(); katas.len()];
    // The handout is the instructor's code and tests: run as it was built, unconfined. Its
    // katas are built with rustc alone, as above, whatever lints they have: the run then reuses
    // that build instead of compiling them again under clippy.
    let plain: Vec<(usize, Kata)> = handout
        .crates
        .iter()
        .filter(|c| katas[c.kata].has_hidden_tests())
        .map(|c| {
            let mut kata = katas[c.kata].kata.clone();
            kata.meta.clippy_lints.clear();
            (c.kata, kata)
        })
        .collect();
    if plain.is_empty() {
        return Ok(passing);
    }
    let checks: Vec<Check> = plain
        .iter()
        .map(|(index, kata)| {
            let krate = handout
                .crates
                .iter()
                .find(|c| c.kata == *index)
                .expect("a crate per kata");
            Check {
                kata,
                package: krate.package.clone(),
                dir: krate.dir.clone(),
                group: None,
            }
        })
        .collect();
    let options = Options {
        target_dir: Some(handout.target.clone()),
        cargo_env: env.clone(),
        reap_orphans: true,
        ..Options::new(false)
    };
    let reports = until_interrupted(runner::check(
        &handout.root,
        &checks,
        &options,
        &mut crate::events::Silent,
    ))?;
    for ((index, _), report) in plain.iter().zip(reports) {
        passing[*index] = report
            .tests
            .into_iter()
            .filter(|t| t.status == TestStatus::Passed)
            .map(|t| t.name)
            .collect();
    }
    reaper::kill_orphans();
    Ok(passing)
}

/// Builds and tests one student's submission: the katas whose sources are `known` from an
/// earlier student take that result instead.
pub fn grade_student(
    grounds: &Grounds,
    slot: &str,
    submission: &Submission,
    katas: &[GradedKata],
    limits: &Limits,
    known: &mut Known,
    reporter: &mut dyn Reporter,
) -> Result<StudentRun> {
    let mut tree = grounds.lay_out_student(slot, submission, katas)?;
    let reused = known.reuse(&mut tree);
    let result = reused.and_then(|reused| {
        let mut reports = build_and_test(grounds, &tree, katas, limits, reporter)?;
        // A build stopped at its time limit stopped every kata of the student, whatever each
        // one's sources: no classmate with the same sources of one of them inherits that.
        let stopped = |report: &CrateReport| {
            report.outcome == Outcome::DidNotCompile
                && report
                    .diagnostics
                    .as_deref()
                    .is_some_and(|d| d.starts_with(cargo::BUILD_STOPPED))
        };
        let own: Vec<_> = reports
            .iter()
            .filter(|(_, r)| !stopped(r))
            .cloned()
            .collect();
        known.remember(&own);
        reports.extend(reused);
        reports.sort_by_key(|(kata, _)| *kata);
        Ok(reports)
    });
    // Whatever the student's code left behind goes, and so does their build output.
    reaper::kill_orphans();
    grounds.finish_student(&tree);
    let reports = result?;
    Ok(StudentRun {
        reports,
        problems: tree.problems,
    })
}

fn build_and_test(
    grounds: &Grounds,
    tree: &StudentTree,
    katas: &[GradedKata],
    limits: &Limits,
    reporter: &mut dyn Reporter,
) -> Result<Vec<(usize, CrateReport)>> {
    if tree.crates.is_empty() {
        return Ok(Vec::new());
    }
    grounds.seed_target(tree)?;
    let checks: Vec<Check> = tree
        .crates
        .iter()
        .map(|c| Check {
            kata: &katas[c.kata].kata,
            package: c.package.clone(),
            dir: c.dir.clone(),
            group: Some(0),
        })
        .collect();
    let confinement = limits.confined.then(|| Confinement {
        build: build_policy(grounds, tree),
        tests: tests_policy(tree),
    });
    let options = Options {
        output_cap: limits.output_cap,
        target_dir: Some(tree.target.clone()),
        memory_limit: Some(limits.memory_limit),
        group_budget: Some(limits.time_limit),
        confinement,
        cargo_env: cargo_env(tree),
        test_env: test_env(tree),
        build_timeout: Some(limits.build_timeout),
        reap_orphans: true,
        ..Options::new(false)
    };
    let reports = until_interrupted(runner::check(&tree.root, &checks, &options, reporter))?;
    Ok(tree.crates.iter().map(|c| c.kata).zip(reports).collect())
}

/// No incremental compilation (grading builds each crate once), a private temporary folder for
/// what the build writes, and the toolchain's homes spelled out, whatever HOME says.
fn cargo_env(tree: &StudentTree) -> Vec<(String, String)> {
    let shown = |path: PathBuf| path.display().to_string();
    vec![
        ("CARGO_INCREMENTAL".into(), "0".into()),
        // Nobody steps through a student's build in a debugger: no debug info makes compiling
        // and linking faster. The handout's build uses the same, so dependencies are shared.
        ("CARGO_PROFILE_DEV_DEBUG".into(), "0".into()),
        ("TMPDIR".into(), shown(tree.tmp.clone())),
        ("CARGO_HOME".into(), shown(cargo_home())),
        ("RUSTUP_HOME".into(), shown(rustup_home())),
    ]
}

/// Tests write their temporary files, and find their home, in the student's temporary folder.
fn test_env(tree: &StudentTree) -> Vec<(String, String)> {
    let tmp = tree.tmp.display().to_string();
    vec![("TMPDIR".into(), tmp.clone()), ("HOME".into(), tmp)]
}

/// A student's build (cargo, rustc, clippy, the dependencies' proc macros) may read the toolchain,
/// the dependency cache and the student's own workspace, and write only the student's build
/// output and temporary folder.
fn build_policy(grounds: &Grounds, tree: &StudentTree) -> Policy {
    let mut policy = Policy {
        own_network: true,
        ..Policy::default()
    }
    .with_system();
    let (cargo_home, rustup_home) = (cargo_home(), rustup_home());
    policy.run.push(rustup_home);
    policy.run.push(cargo_home.join("bin"));
    if let Ok(cargo) = cargo::program() {
        policy.run.extend(toolchain_grants(&cargo, &cargo_home));
    }
    // The registry and git caches, never the credentials beside them.
    policy.read.push(cargo_home.join("registry"));
    policy.read.push(cargo_home.join("git"));
    policy.read_files.push(cargo_home.join("config.toml"));
    policy.read_files.push(cargo_home.join("config"));
    // Cargo takes its cache lock even offline.
    for lock in [".package-cache", ".package-cache-mutate"] {
        policy.write_files.push(cargo_home.join(lock));
    }
    policy.read.extend(grounds.vendor_dir());
    policy.read.push(grounds.work().join(".cargo"));
    policy.read.push(tree.root.clone());
    policy.write_files.push(tree.root.join("Cargo.lock"));
    policy.write.push(tree.target.clone());
    policy.write.push(tree.tmp.clone());
    policy
}

/// What a build may run of the toolchain `cargo` belongs to, beyond rustup's: the folder above
/// the one cargo is in (`/opt/rust` for `/opt/rust/bin/cargo`), with its neighbours. Never when
/// that folder holds CARGO_HOME: rustup's proxy is `$CARGO_HOME/bin/cargo`, whose folder above is
/// CARGO_HOME itself, `credentials.toml` and all; then only its `bin/` and `lib/` are granted.
fn toolchain_grants(cargo: &Path, cargo_home: &Path) -> Vec<PathBuf> {
    let Some(toolchain) = cargo.parent().and_then(Path::parent) else {
        return Vec::new();
    };
    let real = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if real(cargo_home).starts_with(real(toolchain)) {
        vec![toolchain.join("bin"), toolchain.join("lib")]
    } else {
        vec![toolchain.to_path_buf()]
    }
}

/// A test may write only the student's temporary folder; each test process adds its own crate
/// (to read) and binary (to run).
fn tests_policy(tree: &StudentTree) -> Policy {
    let mut policy = Policy {
        own_network: true,
        ..Policy::default()
    }
    .with_system();
    policy.write.push(tree.tmp.clone());
    policy
}

fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from)
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME").map_or_else(|| home().join(".cargo"), PathBuf::from)
}

fn rustup_home() -> PathBuf {
    std::env::var_os("RUSTUP_HOME").map_or_else(|| home().join(".rustup"), PathBuf::from)
}

/// Whether grading can confine students' code here; the error says why not.
pub fn confinement_available() -> Result<()> {
    crate::confine::check_available().context("students' code cannot be confined on this machine")
}

#[cfg(test)]
mod tests {
    use super::toolchain_grants;
    use std::path::{Path, PathBuf};

    #[test]
    fn cargo_home_is_never_granted_whole() {
        let home = Path::new("/home/ada/.cargo");
        // rustup's proxy: CARGO_HOME's bin/, never CARGO_HOME and its credentials.
        let grants = toolchain_grants(&home.join("bin/cargo"), home);
        assert_eq!(grants, [home.join("bin"), home.join("lib")]);
        // A cargo in ~/bin: not the whole home either.
        let grants = toolchain_grants(Path::new("/home/ada/bin/cargo"), home);
        assert!(!grants.iter().any(|g| home.starts_with(g)), "{grants:?}");
        // A toolchain of its own elsewhere is granted whole.
        let grants = toolchain_grants(Path::new("/opt/rust/bin/cargo"), home);
        assert_eq!(grants, [PathBuf::from("/opt/rust")]);
    }
}
