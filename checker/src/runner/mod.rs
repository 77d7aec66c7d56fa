//! The runner: builds the crates of a set of katas once, then runs every test in its own process,
//! in parallel, with the kata's timeout, and turns what it saw into result events and reports.

use crate::cargo::{self, Build, PackageBuild};
use crate::confine::Policy;
use crate::events::{CrateReport, Event, LintResult, Outcome, Reporter, TestResult, TestStatus};
use crate::kata::Kata;
use crate::process;
use crate::{launch, sanitize};
use verdict::{describe_exit, transcript_suspicion, verdict};

mod verdict;
use anyhow::Result;
use futures::stream::{self, StreamExt};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One crate to check: a kata's tests compiled against some code.
#[derive(Debug, Clone)]
pub struct Check<'a> {
    pub kata: &'a Kata,
    pub package: String,
    pub dir: PathBuf,
    /// Checks that share one time budget (one student's submission).
    pub group: Option<usize>,
}

impl<'a> Check<'a> {
    /// The learner's code in `exercises/`.
    pub fn exercise(kata: &'a Kata) -> Check<'a> {
        Check {
            package: kata.exercise_package(),
            dir: kata.exercise_dir.clone(),
            kata,
            group: None,
        }
    }

    /// The reference solution in `solutions/`, against the exercise's tests.
    pub fn solution(kata: &'a Kata) -> Check<'a> {
        Check {
            package: kata.solution_package(),
            dir: kata.solution_dir.clone(),
            kata,
            group: None,
        }
    }

    fn manifest(&self) -> PathBuf {
        self.dir.join("Cargo.toml")
    }
}

pub struct Options {
    pub color: bool,
    pub jobs: usize,
    /// Bytes of each output stream kept per test.
    pub output_cap: usize,
    /// Where cargo builds; its default when `None`.
    pub target_dir: Option<PathBuf>,
    /// The most heap (RLIMIT_DATA) one test process may use.
    pub memory_limit: Option<u64>,
    /// The most test time one group of checks (a submission) may use in all.
    pub group_budget: Option<Duration>,
    /// Grading confines the build and every test process; learners' runs are not confined.
    pub confinement: Option<Confinement>,
    /// Environment for cargo (grading turns incremental compilation off, for one).
    pub cargo_env: Vec<(String, String)>,
    /// Environment for test processes (grading gives them a private temporary folder).
    pub test_env: Vec<(String, String)>,
    /// The longest a build may take before it is stopped.
    pub build_timeout: Option<Duration>,
    /// Kill whatever a test left behind, even detached, as soon as it ends (grading; the checker
    /// is then the subreaper of everything it starts).
    pub reap_orphans: bool,
}

/// What confined builds and tests may touch, before each adds its own crate and binary.
#[derive(Debug, Clone)]
pub struct Confinement {
    pub build: Policy,
    pub tests: Policy,
}

impl Options {
    /// How a test process of `check` running `binary` is set up: when grading confines it, it
    /// may read its own crate and run its own binary, write a private temporary folder, and
    /// reach no network but its own loopback.
    fn setup(&self, check: &Check, binary: &Path) -> launch::Setup {
        let policy = self.confinement.as_ref().map(|confinement| {
            let mut policy = confinement.tests.clone();
            policy.read.push(check.dir.clone());
            policy.run_files.push(binary.to_path_buf());
            policy
        });
        launch::Setup {
            memory_limit: self.memory_limit,
            policy,
        }
    }

    /// A confined test starts from a clean environment: nothing of the grader's but the
    /// essentials (see `launch::essential_env`); the caller adds what the test needs.
    fn clean_env(&self, cmd: &mut tokio::process::Command) {
        if self.confinement.is_some() {
            cmd.env_clear().envs(launch::essential_env());
        }
    }

    pub fn new(color: bool) -> Options {
        Options {
            color,
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            output_cap: 64 * 1024,
            target_dir: None,
            memory_limit: None,
            group_budget: None,
            confinement: None,
            cargo_env: Vec::new(),
            test_env: Vec::new(),
            build_timeout: None,
            reap_orphans: false,
        }
    }
}

/// One test to run: which check it belongs to, which binary holds it, its name.
struct Job {
    check: usize,
    binary: PathBuf,
    name: String,
    /// How many tests the binary listed: libtest's summary of one test filters out the rest.
    listed: usize,
}

/// Checks every crate in `checks` and reports each as it finishes.
pub async fn check(
    root: &Path,
    checks: &[Check<'_>],
    options: &Options,
    reporter: &mut dyn Reporter,
) -> Result<Vec<CrateReport>> {
    // Katas with lints build under clippy's driver; the rest with plain rustc, so their
    // artifacts stay the ones plain `cargo test` uses.
    let mut builds = Vec::new();
    for lint in [false, true] {
        let selected: Vec<&str> = checks
            .iter()
            .filter(|check| check.kata.meta.clippy_lints.is_empty() != lint)
            .map(|check| check.package.as_str())
            .collect();
        if !selected.is_empty() {
            let progress = |line: &str| reporter.event(&Event::BuildProgress(line));
            let settings = cargo::BuildSettings {
                color: options.color,
                target_dir: options.target_dir.as_deref(),
                env: &options.cargo_env,
                confine: options.confinement.as_ref().map(|c| &c.build),
                timeout: options.build_timeout,
            };
            let build = cargo::build_tests(root, &selected, lint, &settings, progress);
            builds.push(build.await?);
        }
    }
    let build = Build::merge(builds);
    let compiled: Vec<Option<&PackageBuild>> =
        checks.iter().map(|c| compiled_package(&build, c)).collect();
    reporter.event(&Event::BuildFinished);

    let mut jobs = Vec::new();
    let mut unlisted: Vec<Option<Unlisted>> = checks.iter().map(|_| None).collect();
    // Listing a binary's tests runs code of the submission's too: it is paid from the same time.
    let budgets = Budgets::new(checks, options.group_budget);
    for (index, package) in compiled.iter().enumerate() {
        for binary in package.map_or(&[][..], |p| &p.test_binaries) {
            let check = &checks[index];
            if let Some(budget) = budgets.exhausted(check) {
                unlisted[index] = Some(Unlisted {
                    status: TestStatus::TimedOut,
                    message: out_of_time(budget),
                });
                continue;
            }
            let started = std::time::Instant::now();
            let listing = list_tests(check, binary, options).await;
            budgets.spend(check, started.elapsed());
            match listing {
                Ok((names, listed)) => jobs.extend(names.into_iter().map(|name| Job {
                    check: index,
                    binary: binary.clone(),
                    name,
                    listed,
                })),
                Err(why) => unlisted[index] = Some(why),
            }
        }
    }

    reporter.event(&Event::RunStarted { tests: jobs.len() });
    let mut results = run_tests(checks, jobs, options, &budgets, reporter).await;

    let mut reports = Vec::new();
    for (index, check) in checks.iter().enumerate() {
        let report = match compiled[index] {
            None => did_not_compile(check, &build),
            Some(package) => {
                let tests = std::mem::take(&mut results[index]);
                let lints = lint_results(check, package);
                assemble(check, tests, lints, unlisted[index].take())
            }
        };
        reporter.event(&Event::CrateFinished(&report));
        reports.push(report);
    }
    Ok(reports)
}

/// The package's build, if it compiled. One without test binaries compiled too: its expected
/// tests then count as missing, not as a compile error with nothing to show.
fn compiled_package<'b>(build: &'b Build, check: &Check) -> Option<&'b PackageBuild> {
    build.package(&check.manifest()).filter(|p| !p.has_errors())
}

fn did_not_compile(check: &Check, build: &Build) -> CrateReport {
    let rendered = build
        .package(&check.manifest())
        .map(PackageBuild::rendered)
        .unwrap_or_default();
    let diagnostics = if rendered.is_empty() {
        build.cargo_errors.clone()
    } else {
        rendered
    };
    CrateReport {
        kata: check.kata.name.clone(),
        package: check.package.clone(),
        outcome: Outcome::DidNotCompile,
        diagnostics: Some(diagnostics),
        tests: Vec::new(),
        lints: Vec::new(),
        points: 0,
        max_points: check.kata.max_points(),
    }
}

fn assemble(
    check: &Check,
    mut tests: Vec<TestResult>,
    lints: Vec<LintResult>,
    unlisted: Option<Unlisted>,
) -> CrateReport {
    let seen: BTreeSet<String> = tests.iter().map(|t| t.name.clone()).collect();
    for (name, &points) in &check.kata.meta.tests {
        if !seen.contains(name) {
            let (status, message) = match &unlisted {
                Some(why) => (why.status, why.message.clone()),
                None => (
                    TestStatus::Missing,
                    "this test was not found in the compiled tests: were the kata's tests edited?"
                        .to_string(),
                ),
            };
            tests.push(TestResult {
                name: name.clone(),
                status,
                message: Some(message),
                output: String::new(),
                duration: Duration::ZERO,
                points: 0,
                max_points: points,
                suspicious: None,
            });
        }
    }
    tests.sort_by(|a, b| a.name.cmp(&b.name));
    let all_passed =
        tests.iter().all(|t| t.status == TestStatus::Passed) && lints.iter().all(|l| l.clean);
    CrateReport {
        kata: check.kata.name.clone(),
        package: check.package.clone(),
        outcome: if all_passed {
            Outcome::Passed
        } else {
            Outcome::Failed
        },
        diagnostics: None,
        points: tests.iter().map(|t| t.points).sum(),
        max_points: check.kata.max_points(),
        tests,
        lints,
    }
}

/// Why a test binary could not say which tests it holds: its tests then did not run.
struct Unlisted {
    status: TestStatus,
    message: String,
}

/// Asks a test binary which tests it holds, under the same timeout, memory limit and output cap
/// as a test: code that runs before any test (a static constructor, say) can hang or flood too.
/// Returns each name once (code that prints a name twice does not get it run twice), and how
/// many lines the listing had.
async fn list_tests(
    check: &Check<'_>,
    binary: &Path,
    options: &Options,
) -> Result<(Vec<String>, usize), Unlisted> {
    let mut cmd = launch::command(binary, &options.setup(check, binary));
    options.clean_env(&mut cmd);
    cmd.args(["--list", "--format", "terse"])
        .current_dir(&check.dir)
        .env("CARGO_MANIFEST_DIR", &check.dir)
        .envs(options.test_env.iter().map(|(k, v)| (k, v)));
    let timeout = check.kata.timeout();
    let finished = process::run(cmd, timeout, options.output_cap)
        .await
        .map_err(|err| Unlisted {
            status: TestStatus::Failed,
            message: format!("the test binary could not be started: {err}"),
        })?;
    if finished.timed_out {
        return Err(Unlisted {
            status: TestStatus::TimedOut,
            message: format!(
                "no test ran: the test binary did not even list its tests within {}s, so code \
                 that runs before any test (a static initializer or constructor) is stuck",
                timeout.as_secs()
            ),
        });
    }
    if !finished.status.is_some_and(|s| s.success()) {
        return Err(Unlisted {
            status: TestStatus::Failed,
            message: format!(
                "no test ran: the test binary failed to list its tests ({}){}",
                describe_exit(finished.status),
                sanitize::visible(&finished.stderr)
                    .lines()
                    .next()
                    .map(|l| format!(": {l}"))
                    .unwrap_or_default()
            ),
        });
    }
    let listed: Vec<&str> = finished
        .stdout
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .collect();
    let mut seen = BTreeSet::new();
    let names = listed
        .iter()
        .filter(|name| seen.insert(**name))
        .map(|name| name.to_string())
        .collect();
    Ok((names, listed.len()))
}

/// Runs every job, at most `options.jobs` at once; returns the results grouped by check.
async fn run_tests(
    checks: &[Check<'_>],
    jobs: Vec<Job>,
    options: &Options,
    budgets: &Budgets,
    reporter: &mut dyn Reporter,
) -> Vec<Vec<TestResult>> {
    let mut results: Vec<Vec<TestResult>> = checks.iter().map(|_| Vec::new()).collect();
    let mut finished = stream::iter(jobs)
        .map(|job| async move {
            let check = &checks[job.check];
            let result = match budgets.exhausted(check) {
                Some(budget) => out_of_budget(check, &job, budget),
                None => run_one(check, &job, options).await,
            };
            budgets.spend(check, result.duration);
            (job.check, result)
        })
        .buffer_unordered(options.jobs);
    while let Some((index, result)) = finished.next().await {
        if options.reap_orphans {
            process::reaper::kill_orphans();
        }
        reporter.event(&Event::TestFinished(&result));
        results[index].push(result);
    }
    results
}

/// The test time each group of checks has used, against its budget.
struct Budgets {
    budget: Option<Duration>,
    spent: std::sync::Mutex<Vec<Duration>>,
}

impl Budgets {
    fn new(checks: &[Check<'_>], budget: Option<Duration>) -> Budgets {
        let groups = checks
            .iter()
            .filter_map(|c| c.group)
            .max()
            .map_or(0, |g| g + 1);
        Budgets {
            budget,
            spent: std::sync::Mutex::new(vec![Duration::ZERO; groups]),
        }
    }

    /// The budget, when the check's group has used it up.
    fn exhausted(&self, check: &Check<'_>) -> Option<Duration> {
        let (budget, group) = (self.budget?, check.group?);
        let spent = self.spent.lock().expect("never poisoned")[group];
        (spent >= budget).then_some(budget)
    }

    fn spend(&self, check: &Check<'_>, time: Duration) {
        if let Some(group) = check.group {
            self.spent.lock().expect("never poisoned")[group] += time;
        }
    }
}

/// Why a test did not run once its group's time was used up. Grading's reuse of identical
/// submissions knows such results by the `not run:` they start with.
fn out_of_time(budget: Duration) -> String {
    format!(
        "not run: the submission used up its time limit of {}s on earlier tests",
        budget.as_secs()
    )
}

fn out_of_budget(check: &Check<'_>, job: &Job, budget: Duration) -> TestResult {
    TestResult {
        name: job.name.clone(),
        status: TestStatus::TimedOut,
        message: Some(out_of_time(budget)),
        output: String::new(),
        duration: Duration::ZERO,
        points: 0,
        max_points: check.kata.points_for(&job.name),
        suspicious: None,
    }
}

async fn run_one(check: &Check<'_>, job: &Job, options: &Options) -> TestResult {
    let kata = check.kata;
    let mut cmd = launch::command(&job.binary, &options.setup(check, &job.binary));
    options.clean_env(&mut cmd);
    // Two threads, though only one test runs: libtest then prints the test's result line only
    // after it ended, whole, so the code's own writes to stdout cannot split it (see verdict).
    cmd.args(["--exact", &job.name, "--test-threads=2", "--color", "never"])
        .current_dir(&check.dir)
        .env("CARGO_MANIFEST_DIR", &check.dir)
        .envs(options.test_env.iter().map(|(k, v)| (k, v)))
        .env("RUST_BACKTRACE", "0");
    let max_points = kata.points_for(&job.name);
    let finished = match process::run(cmd, kata.timeout(), options.output_cap).await {
        Ok(finished) => finished,
        Err(err) => {
            return TestResult {
                name: job.name.clone(),
                status: TestStatus::Failed,
                message: Some(format!("the test binary could not be started: {err}")),
                output: String::new(),
                duration: Duration::ZERO,
                points: 0,
                max_points,
                suspicious: None,
            }
        }
    };
    let (status, message) = verdict(&job.name, &finished, kata);
    let suspicious = transcript_suspicion(&job.name, &finished, job.listed);
    TestResult {
        name: job.name.clone(),
        points: if status == TestStatus::Passed {
            max_points
        } else {
            0
        },
        max_points,
        status,
        message: message.map(|m| sanitize::visible(&m)),
        output: sanitize::visible(&join_output(&finished)),
        duration: finished.duration,
        suspicious: suspicious.map(|s| sanitize::visible(&s)),
    }
}

fn join_output(finished: &process::Finished) -> String {
    let mut output = finished.stdout.clone();
    if !finished.stderr.is_empty() {
        output.push_str(&finished.stderr);
    }
    output
}

/// The kata's listed lints, each clean or with clippy's findings from the build.
fn lint_results(check: &Check, package: &PackageBuild) -> Vec<LintResult> {
    check
        .kata
        .meta
        .clippy_lints
        .iter()
        .map(|lint| {
            let code = format!("clippy::{lint}");
            let findings: String = package
                .diagnostics
                .iter()
                .filter(|d| d.code.as_deref() == Some(&code))
                .map(|d| d.rendered.as_str())
                .collect();
            LintResult {
                lint: lint.clone(),
                clean: findings.is_empty(),
                findings,
            }
        })
        .collect()
}
