//! Talking to cargo: building test binaries (with clippy's lints where a kata asks), read through cargo's
//! machine-readable output.

use crate::confine::Policy;
use crate::launch;
use crate::process::Group;
use anyhow::{anyhow, Context, Result};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// What one build found for one package.
#[derive(Debug, Default)]
pub struct PackageBuild {
    pub test_binaries: Vec<PathBuf>,
    /// Errors and warnings as cargo renders them, at most `KEPT_PER_KIND` of each kind.
    pub diagnostics: Vec<Diagnostic>,
    /// Those past that number, counted.
    pub omitted: usize,
    /// Every distinct diagnostic seen, by a hash of its text.
    seen: HashSet<u64>,
}

/// How many diagnostics of one kind (level and lint code) a package keeps. Code can make the
/// compiler warn without end (a macro, say): memory stays bounded, and a flood of one kind never
/// pushes out another, such as the one lint a kata checks for.
const KEPT_PER_KIND: usize = 20;

/// How much of cargo's own complaints is kept.
const CARGO_ERRORS_KEPT: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub level: String,
    pub code: Option<String>,
    pub rendered: String,
}

impl PackageBuild {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == "error")
    }

    pub fn rendered(&self) -> String {
        let mut rendered: String = self
            .diagnostics
            .iter()
            .map(|d| d.rendered.as_str())
            .collect();
        if self.omitted > 0 {
            rendered.push_str(&format!(
                "({} more diagnostics of the same kinds are not shown)\n",
                self.omitted
            ));
        }
        rendered
    }

    /// Keeps `diagnostic` unless it was seen already or its kind is full.
    fn record(&mut self, diagnostic: Diagnostic) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        diagnostic.rendered.hash(&mut hasher);
        if !self.seen.insert(hasher.finish()) {
            return;
        }
        let of_its_kind = self
            .diagnostics
            .iter()
            .filter(|d| d.level == diagnostic.level && d.code == diagnostic.code)
            .count();
        if of_its_kind < KEPT_PER_KIND {
            self.diagnostics.push(diagnostic);
        } else {
            self.omitted += 1;
        }
    }
}

/// The results of one cargo invocation, by package manifest path.
#[derive(Debug)]
pub struct Build {
    pub packages: HashMap<PathBuf, PackageBuild>,
    pub success: bool,
    /// cargo's own complaints (a broken manifest, a missing package), which are not JSON.
    pub cargo_errors: String,
}

impl Build {
    /// One view of several cargo invocations over different packages.
    pub fn merge(builds: Vec<Build>) -> Build {
        let mut merged = Build {
            packages: HashMap::new(),
            success: true,
            cargo_errors: String::new(),
        };
        for build in builds {
            merged.packages.extend(build.packages);
            merged.success &= build.success;
            merged.cargo_errors.push_str(&build.cargo_errors);
        }
        merged
    }

    pub fn package(&self, manifest: &Path) -> Option<&PackageBuild> {
        self.packages.get(manifest)
    }
}

/// The cargo that started us (`cargo kata` sets CARGO), else the one on PATH.
pub fn program() -> Result<PathBuf> {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .or_else(|| on_path("cargo"))
        .ok_or_else(|| anyhow!("cargo was not found on PATH: install the Rust toolchain (https://rustup.rs) and try again"))
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn message_format(color: bool) -> &'static str {
    if color {
        "json-diagnostic-rendered-ansi"
    } else {
        "json"
    }
}

/// How the message of a build stopped at its time limit begins.
pub const BUILD_STOPPED: &str = "the build took longer than";

/// Builds the test binaries of `packages` in one cargo invocation, without running them.
///
/// With `lint`, clippy's driver compiles the workspace crates in place of rustc: it produces the
/// same binaries and adds clippy's warnings to the diagnostics, so linting costs no second
/// compilation.
pub async fn build_tests(
    root: &Path,
    packages: &[&str],
    lint: bool,
    settings: &BuildSettings<'_>,
    progress: impl FnMut(&str),
) -> Result<Build> {
    let mut cmd = tests_build_command(packages, lint, settings.color)?;
    if let Some(dir) = settings.target_dir {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    cmd.envs(settings.env.iter().map(|(k, v)| (k, v)));
    let cmd = match settings.confine {
        None => cmd.into(),
        Some(policy) => confined(&cmd, policy),
    };
    let build = run_cargo(cmd, root, progress);
    match settings.timeout {
        None => build.await,
        // Dropping the build kills cargo and everything under it. What was being built did not
        // compile, like any build that fails: the run goes on to its other work.
        Some(limit) => tokio::time::timeout(limit, build)
            .await
            .unwrap_or_else(|_| {
                Ok(Build {
                    packages: HashMap::new(),
                    success: false,
                    cargo_errors: format!(
                        "{BUILD_STOPPED} {}s and was stopped: something keeps the \
                         compiler busy (a constant evaluated in an endless loop, a macro that \
                         expands for ever)",
                        limit.as_secs()
                    ),
                })
            }),
    }
}

/// How a build runs, beyond which packages it builds.
#[derive(Debug, Default)]
pub struct BuildSettings<'a> {
    pub color: bool,
    pub target_dir: Option<&'a Path>,
    pub env: &'a [(String, String)],
    /// Grading runs cargo, and so rustc, clippy and every proc macro, confined, offline.
    pub confine: Option<&'a Policy>,
    pub timeout: Option<std::time::Duration>,
}

/// `cmd` run through the launcher under `policy`, offline (there is no network to reach).
fn confined(cmd: &std::process::Command, policy: &Policy) -> Command {
    let setup = launch::Setup {
        memory_limit: None,
        policy: Some(policy.clone()),
    };
    let mut confined = launch::command(Path::new(cmd.get_program()), &setup);
    confined
        .arg("--offline")
        .args(cmd.get_args())
        .env_clear()
        .envs(launch::essential_env());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => confined.env(key, value),
            None => confined.env_remove(key),
        };
    }
    confined
}

/// The cargo command that builds `packages`' test binaries as the checker does, for callers
/// (`doctor`) that must build exactly what `run` and `watch` will.
pub fn tests_build_command(
    packages: &[&str],
    lint: bool,
    color: bool,
) -> Result<std::process::Command> {
    let mut cmd = std::process::Command::new(program()?);
    // `build --tests` is `test --no-run` that can keep going past a crate that does not compile.
    cmd.args([
        "build",
        "--tests",
        "--keep-going",
        "--message-format",
        message_format(color),
    ]);
    for package in packages {
        cmd.args(["-p", package]);
    }
    if lint {
        cmd.env("RUSTC_WORKSPACE_WRAPPER", clippy_driver()?);
    }
    Ok(cmd)
}

/// clippy's driver: beside cargo when rustup installed both, else on PATH.
fn clippy_driver() -> Result<PathBuf> {
    let beside_cargo = program()?.parent().map(|dir| dir.join("clippy-driver"));
    beside_cargo
        .filter(|p| p.is_file())
        .or_else(|| on_path("clippy-driver"))
        .ok_or_else(|| {
            anyhow!(
                "this kata needs clippy, which is not installed: run `rustup component add clippy`"
            )
        })
}

async fn run_cargo(mut cmd: Command, root: &Path, mut progress: impl FnMut(&str)) -> Result<Build> {
    cmd.current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A group of its own: cargo, rustc and build scripts all stop when the checker does.
    let mut child = Group::spawn(cmd).context("cannot start cargo")?;
    let mut stdout = BufReader::new(child.stdout().expect("piped")).lines();
    let mut stderr = BufReader::new(child.stderr().expect("piped")).lines();

    let mut build = Build {
        packages: HashMap::new(),
        success: false,
        cargo_errors: String::new(),
    };
    let (mut stdout_open, mut stderr_open) = (true, true);
    while stdout_open || stderr_open {
        tokio::select! {
            line = stdout.next_line(), if stdout_open => match line.context("reading cargo's output")? {
                Some(line) => record_message(&mut build, &line),
                None => stdout_open = false,
            },
            line = stderr.next_line(), if stderr_open => match line.context("reading cargo's output")? {
                Some(line) => {
                    let trimmed = line.trim_start();
                    let started = trimmed.starts_with("error") || !build.cargo_errors.is_empty();
                    if started && build.cargo_errors.len() < CARGO_ERRORS_KEPT {
                        build.cargo_errors.push_str(&line);
                        build.cargo_errors.push('\n');
                    }
                    progress(trimmed);
                }
                None => stderr_open = false,
            },
        }
    }
    let status = child.wait().await.context("waiting for cargo")?;
    build.success &= status.success();
    Ok(build)
}

fn record_message(build: &mut Build, line: &str) {
    let Ok(message) = serde_json::from_str::<Value>(line) else {
        return;
    };
    let manifest = || message["manifest_path"].as_str().map(PathBuf::from);
    match message["reason"].as_str() {
        Some("compiler-artifact") => {
            let Some(manifest) = manifest() else {
                return;
            };
            // Any artifact means the package is in this build, even with no tests left in it.
            let package = build.packages.entry(manifest).or_default();
            // Only integration tests (`tests/`) hold a kata's tests; unit tests a learner writes
            // in `src/` are theirs, and must never stand in for a kata test of the same name.
            let is_test = message["profile"]["test"].as_bool() == Some(true)
                && message["target"]["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "test"));
            if let (true, Some(exe)) = (is_test, message["executable"].as_str()) {
                package.test_binaries.push(PathBuf::from(exe));
            }
        }
        Some("compiler-message") => {
            let diagnostic = &message["message"];
            if let (Some(rendered), Some(manifest)) = (diagnostic["rendered"].as_str(), manifest())
            {
                // The library is compiled twice (as a dependency of the tests and as its own unit
                // tests), so each of its warnings arrives twice: `record` keeps one.
                build
                    .packages
                    .entry(manifest)
                    .or_default()
                    .record(Diagnostic {
                        level: diagnostic["level"].as_str().unwrap_or("").to_string(),
                        code: diagnostic["code"]["code"].as_str().map(str::to_string),
                        rendered: rendered.to_string(),
                    });
            }
        }
        Some("build-finished") => build.success = message["success"].as_bool() == Some(true),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{Diagnostic, PackageBuild, KEPT_PER_KIND};

    fn warning(code: &str, text: &str) -> Diagnostic {
        Diagnostic {
            level: "warning".into(),
            code: Some(code.into()),
            rendered: text.into(),
        }
    }

    #[test]
    fn a_flood_of_one_kind_pushes_out_no_other() {
        let mut package = PackageBuild::default();
        for i in 0..1000 {
            package.record(warning("unused_variables", &format!("unused `x{i}`")));
        }
        package.record(warning("unused_variables", "unused `x0`"));
        package.record(warning("clippy::let_underscore_future", "a future dropped"));
        let kept = |code: &str| {
            package
                .diagnostics
                .iter()
                .filter(|d| d.code.as_deref() == Some(code))
                .count()
        };
        assert_eq!(kept("unused_variables"), KEPT_PER_KIND);
        assert_eq!(kept("clippy::let_underscore_future"), 1);
        assert_eq!(
            package.omitted,
            1000 - KEPT_PER_KIND,
            "a repeat is not counted"
        );
        assert!(package.rendered().ends_with("are not shown)\n"));
    }
}
