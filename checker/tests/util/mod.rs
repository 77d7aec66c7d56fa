//! A temporary copy of the kata repository and a way to run the real checker binary in it, the
//! way a learner would.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What is copied: the workspace, never its build output or local state.
const COPIED: [&str; 8] = [
    "Cargo.toml",
    "Cargo.lock",
    ".cargo",
    "launcher",
    "checker",
    "room",
    "exercises",
    "solutions",
];

/// The files git tracks under `COPIED` (as they are in the working tree), so that half-written
/// katas beside the tests do not leak into the sandbox; every file when git is not there.
fn files_to_copy() -> Option<Vec<PathBuf>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(source_root())
        .args(["ls-files", "-z", "--"])
        .args(COPIED)
        .output()
        .ok()?;
    let files: Vec<PathBuf> = output
        .stdout
        .split(|&b| b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| PathBuf::from(String::from_utf8_lossy(f).into_owned()))
        .collect();
    (output.status.success() && !files.is_empty()).then_some(files)
}

pub struct Sandbox {
    dir: tempfile::TempDir,
    _one_at_a_time: std::fs::File,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("checker/ is inside the repository")
        .to_path_buf()
}

/// Every sandbox builds into one shared directory, so dependencies are compiled once.
pub fn shared_target() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sandbox-target")
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox::new_in(&std::env::temp_dir())
    }

    /// A sandbox in a new folder inside `parent` (a small filesystem, say).
    pub fn new_in(parent: &Path) -> Sandbox {
        let one_at_a_time = sandbox_lock();
        let dir = tempfile::tempdir_in(parent).expect("a temporary directory");
        match files_to_copy() {
            Some(files) => {
                for file in files {
                    let target = dir.path().join(&file);
                    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                    std::fs::copy(source_root().join(&file), target).unwrap();
                }
            }
            None => {
                for entry in COPIED {
                    copy(&source_root().join(entry), &dir.path().join(entry));
                }
            }
        }
        Sandbox {
            dir,
            _one_at_a_time: one_at_a_time,
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative))
            .unwrap_or_else(|e| panic!("cannot read {relative}: {e}"))
    }

    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// Adds a fixture kata, `exercises/99-fixture`, with no dependencies: `lib` is its src/lib.rs,
    /// `tests` its tests/fixture.rs, and `meta` the kata.toml lines after the common ones (at
    /// least `[tests]` and `[untouched]`). Returns its folder name.
    pub fn add_fixture_kata(&self, lib: &str, tests: &str, meta: &str) -> &'static str {
        let dir = "exercises/99-fixture";
        self.write(
            &format!("{dir}/Cargo.toml"),
            "[package]\nname = \"kata-99-fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
             publish = false\n\n[lib]\nname = \"fixture\"\n",
        );
        self.write(
            &format!("{dir}/kata.toml"),
            &format!(
                "format = 1\nid = \"99.1\"\norder = 99\nmodule = \"Fixtures\"\n\
                 title = \"A fixture\"\ndifficulty = \"easy\"\nhints = [\"one\", \"two\"]\n{meta}"
            ),
        );
        self.write(&format!("{dir}/src/lib.rs"), lib);
        self.write(&format!("{dir}/tests/fixture.rs"), tests);
        "99-fixture"
    }

    /// A kata's metadata, as the checker reads it: tests and their points, how it fails untouched.
    pub fn meta(&self, kata: &str) -> toml::Table {
        toml::from_str(&self.read(&format!("exercises/{kata}/kata.toml"))).expect("valid kata.toml")
    }

    /// The names of the kata's tests, sorted.
    pub fn test_names(&self, kata: &str) -> Vec<String> {
        let meta = self.meta(kata);
        let mut names: Vec<String> = meta["tests"].as_table().unwrap().keys().cloned().collect();
        names.sort();
        names
    }

    /// The kata's points in all.
    pub fn max_points(&self, kata: &str) -> i64 {
        let meta = self.meta(kata);
        let tests = meta["tests"].as_table().unwrap();
        tests.values().map(|p| p.as_integer().unwrap()).sum()
    }

    /// The tests that fail (not time out) on the untouched kata, sorted.
    pub fn untouched_failing(&self, kata: &str) -> Vec<String> {
        let meta = self.meta(kata);
        let failing = meta["untouched"].get("failing").and_then(|f| f.as_array());
        let mut names: Vec<String> = failing
            .into_iter()
            .flatten()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    }

    /// Replaces a kata's src/lib.rs with its reference solution.
    pub fn solve(&self, kata: &str) {
        let solution = self.read(&format!("solutions/{kata}/src/lib.rs"));
        self.write(&format!("exercises/{kata}/src/lib.rs"), &solution);
    }

    /// Runs the checker with `args` in the sandbox's root.
    pub fn checker(&self, args: &[&str]) -> Run {
        self.checker_in(self.root(), args)
    }

    /// Starts the checker with `args` in the sandbox's root without waiting for it.
    pub fn spawn_checker(&self, args: &[&str]) -> std::process::Child {
        checker_command(self.root())
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the checker starts")
    }

    pub fn checker_in(&self, dir: &Path, args: &[&str]) -> Run {
        let output = checker_command(dir)
            .args(args)
            .output()
            .expect("the checker runs");
        finish(output)
    }

    /// Runs the checker with a change to its command, for failure cases.
    pub fn checker_with(&self, args: &[&str], change: impl FnOnce(&mut Command)) -> Run {
        let mut cmd = checker_command(self.root());
        change(&mut cmd);
        finish(cmd.args(args).output().expect("the checker runs"))
    }

    /// Runs the checker with `args` in a pseudo-terminal (util-linux `script`), typing `keys`.
    pub fn checker_in_terminal(&self, args: &[&str], keys: &str) -> Run {
        let mut session = self.terminal_session(args);
        session.type_keys(keys);
        session.finish()
    }

    /// Starts the checker with `args` in a pseudo-terminal, to type into as its output arrives.
    pub fn terminal_session(&self, args: &[&str]) -> TerminalSession {
        self.terminal_session_sized(args, 100)
    }

    /// As `terminal_session`, in a terminal `columns` wide.
    pub fn terminal_session_sized(&self, args: &[&str], columns: u16) -> TerminalSession {
        let checker = env!("CARGO_BIN_EXE_checker");
        let command = std::iter::once(checker)
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        let line = format!("stty cols {columns} rows 50; exec {command}");
        let mut script = Command::new("script");
        script.args(["--quiet", "--return", "--command", &line, "/dev/null"]);
        in_sandbox(&mut script, self.root());
        let mut child = script
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("util-linux `script` runs");
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn({
            let output = output.clone();
            move || {
                let mut buffer = [0u8; 4096];
                while let Ok(n @ 1..) = std::io::Read::read(&mut stdout, &mut buffer) {
                    output.lock().unwrap().extend_from_slice(&buffer[..n]);
                }
            }
        });
        TerminalSession {
            stdin: child.stdin.take(),
            child,
            output,
            reader,
        }
    }
}

/// A checker running in a pseudo-terminal.
pub struct TerminalSession {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    output: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

impl TerminalSession {
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Waits until the screen shows `text`, `times` times in all.
    pub fn wait_for(&self, text: &str, times: usize) {
        eventually(&format!("the terminal to show {text:?}"), || {
            self.output().matches(text).count() >= times
        });
    }

    pub fn type_keys(&mut self, keys: &str) {
        let stdin = self.stdin.as_mut().expect("the terminal is open");
        std::io::Write::write_all(stdin, keys.as_bytes()).unwrap();
    }

    /// Closes the keyboard and waits for the checker to exit.
    pub fn finish(mut self) -> Run {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        let stdout = self.output.clone();
        self.reader.join().unwrap();
        let stdout = String::from_utf8_lossy(&stdout.lock().unwrap()).into_owned();
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        }
        Run {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr,
        }
    }
}

/// Cargo names a workspace member's artifacts, and judges their freshness, by its path *relative
/// to the workspace*: the same kata in two sandboxes sharing a target directory builds to the same
/// files, and a file written before the other sandbox's build looks older than its artifacts. So
/// sandboxes take turns, each for its whole life.
fn sandbox_lock() -> std::fs::File {
    std::fs::create_dir_all(shared_target()).unwrap();
    let file = std::fs::File::create(shared_target().join("sandbox.lock")).unwrap();
    file.lock().unwrap();
    file
}

pub fn checker_command(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_checker"));
    in_sandbox(&mut cmd, dir);
    cmd.stdin(std::process::Stdio::null());
    cmd
}

/// Where and with what environment a command runs: the shared target, no colour.
fn in_sandbox(cmd: &mut Command, dir: &Path) {
    cmd.current_dir(dir)
        .env("CARGO_TARGET_DIR", shared_target())
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE");
}

fn finish(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy(&entry.path(), &to.join(entry.file_name()));
        }
    } else if from.is_file() {
        std::fs::copy(from, to).unwrap();
    }
}

/// Whether this machine can confine students' code (as `doctor` reports). Where it cannot, tests
/// of confinement skip, saying so, unless KATA_REQUIRE_CONFINEMENT is set (CI sets it: there they
/// must run).
pub fn confinement_available(sandbox: &Sandbox) -> bool {
    let doctor = sandbox.checker(&["doctor", "--no-build"]);
    let available = doctor.stdout.lines().any(|l| {
        l.contains("grading confinement")
            && l.contains("available:")
            && !l.contains("not available")
    });
    if !available {
        assert!(
            std::env::var_os("KATA_REQUIRE_CONFINEMENT").is_none(),
            "KATA_REQUIRE_CONFINEMENT is set, but this machine cannot confine: {}",
            doctor.stdout
        );
        eprintln!("skipped: this machine cannot confine students' code (see `cargo kata doctor`)");
    }
    available
}

/// A student's row in a grading's results.json.
pub fn student<'a>(results: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    results["students"]
        .as_array()
        .expect("a students array")
        .iter()
        .find(|s| s["student"] == name)
        .unwrap_or_else(|| panic!("{name} was not graded: {results}"))
}

/// The tests named in a `run --json` report with the given status.
pub fn tests_with_status(report: &serde_json::Value, status: &str) -> Vec<String> {
    let mut names: Vec<String> = report["tests"]
        .as_array()
        .expect("a tests array")
        .iter()
        .filter(|t| t["status"] == status)
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// Polls `condition` until it holds, or panics after `what` has not happened in 30 s.
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
