//! The first build check: every kata's tests built once, offline, exactly as `cargo kata` builds
//! them (one kata at a time; under clippy's driver for the katas with lints), so during the
//! workshop a run only compiles the learner's own crate.

use super::Check;
use crate::kata::Catalogue;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NAME: &str = "first build";

/// What the builds found.
#[derive(Default)]
struct Outcome {
    /// Dependencies cargo compiled (or, when only checking, was about to compile).
    compiled: Vec<String>,
    /// Cargo's errors that are not a broken kata's (those are expected until it is solved).
    errors: Vec<String>,
    stopped_early: bool,
}

pub fn first_build(root: &Path, catalogue: &Catalogue, no_build: bool) -> Check {
    let members: BTreeSet<String> = catalogue
        .katas
        .iter()
        .map(|kata| kata.exercise_package())
        .collect();
    let started = Instant::now();
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("  {spinner} {prefix}: {msg}").expect("a valid template"),
    );
    if !no_build {
        bar.enable_steady_tick(Duration::from_millis(120));
        bar.set_message("building the katas' dependencies offline (the first time takes minutes)");
    }
    let mut outcome = Outcome::default();
    // One build per kata, as `watch` and `run` do: cargo unifies the dependencies' features over
    // the packages of one build, so building them all at once would leave some kata's set unbuilt.
    let total = catalogue.katas.len();
    for (index, kata) in catalogue.katas.iter().enumerate() {
        bar.set_prefix(format!("kata {}/{total}", index + 1));
        // Exactly the build `run` and `watch` do (clippy's driver for the katas with lints, which
        // the dependencies never see), with no network.
        let lint = !kata.meta.clippy_lints.is_empty();
        let mut cmd =
            match crate::cargo::tests_build_command(&[&kata.exercise_package()], lint, false) {
                Ok(cmd) => cmd,
                Err(e) => {
                    bar.finish_and_clear();
                    return Check::fail(NAME, format!("{e:#}"), super::INSTALL_RUST);
                }
            };
        cmd.current_dir(root).arg("--offline");
        if let Err(e) = build(cmd, &members, no_build, &bar, &mut outcome) {
            bar.finish_and_clear();
            return Check::fail(NAME, format!("cannot run cargo: {e}"), super::INSTALL_RUST);
        }
        if outcome.stopped_early || !outcome.errors.is_empty() {
            break;
        }
    }
    bar.finish_and_clear();
    let took = started.elapsed();

    if let Some(first) = outcome.errors.first() {
        return Check::fail(
            NAME,
            format!("cargo could not build the katas: {first}"),
            "fix what cargo says above (run `cargo build --tests --offline -p kata-01-lazy-futures` \
             to see all of it), then run `cargo kata doctor` again",
        );
    }
    if no_build {
        return match outcome.compiled.first() {
            None => Check::pass(NAME, "done: every dependency of the katas is already built"),
            Some(name) => Check::fail(
                NAME,
                format!("not done: cargo would compile {name} and more (nothing was built)"),
                "run `cargo kata doctor` without --no-build: it builds once, offline (a few minutes)",
            ),
        };
    }
    if outcome.compiled.is_empty() {
        Check::pass(NAME, "already done: nothing left to compile")
    } else {
        Check::pass(
            NAME,
            format!(
                "done now: {} crates compiled in {}",
                outcome.compiled.len(),
                duration(took)
            ),
        )
    }
}

/// Runs one cargo build, watching its status lines. When only checking, cargo is stopped at the
/// first dependency it would compile: that alone answers the question.
fn build(
    mut cmd: Command,
    members: &BTreeSet<String>,
    only_check: bool,
    bar: &ProgressBar,
    outcome: &mut Outcome,
) -> std::io::Result<()> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // rustc's diagnostics arrive as JSON on stdout; the broken katas make plenty. Drained aside so
    // cargo never blocks on a full pipe.
    let stdout = child.stdout.take().map(|out| {
        std::thread::spawn(move || std::io::copy(&mut BufReader::new(out), &mut std::io::sink()))
    });
    let stderr = BufReader::new(child.stderr.take().expect("piped"));
    for line in stderr.lines() {
        let line = line?;
        let line = line.trim();
        if let Some(unit) = line.strip_prefix("Compiling ") {
            // Workspace members show their path; a broken kata compiles again on every build.
            if !unit.contains(" (") {
                outcome.compiled.push(unit.to_string());
                bar.set_message(format!("compiling {unit}"));
                if only_check {
                    outcome.stopped_early = true;
                    // Killing cargo only loses the unit it had started; nothing is left half built.
                    let _ = child.kill();
                    break;
                }
            }
        } else if line.starts_with("error") && !is_broken_kata(line, members) {
            outcome.errors.push(line.to_string());
        }
    }
    child.wait()?;
    if let Some(stdout) = stdout {
        let _ = stdout.join();
    }
    Ok(())
}

/// `error: could not compile `kata-03-...` (test ...)` is a kata not solved yet, as shipped.
fn is_broken_kata(line: &str, members: &BTreeSet<String>) -> bool {
    line.strip_prefix("error: could not compile `")
        .and_then(|rest| rest.split('`').next())
        .is_some_and(|package| members.contains(package))
        || line.starts_with("error: build failed")
}

fn duration(took: Duration) -> String {
    let secs = took.as_secs();
    if secs >= 60 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", took.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_broken_kata_is_an_expected_error() {
        let members = BTreeSet::from(["kata-01-lazy-futures".to_string()]);
        assert!(is_broken_kata(
            "error: could not compile `kata-01-lazy-futures` (lib) due to 1 previous error",
            &members
        ));
        assert!(!is_broken_kata(
            "error: could not compile `tokio` (lib) due to 1 previous error",
            &members
        ));
        assert!(!is_broken_kata(
            "error: no matching package named `axum` found",
            &members
        ));
    }
}
