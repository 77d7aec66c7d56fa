//! A workshop room served by the real binary, and a small HTTP client for talking to it.

#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long anything may take before a test gives up on it.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub const CODE: &str = "TEST";

/// The room's server on a free port, killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// Everything the server printed after its first line, on stdout and stderr.
    lines: mpsc::Receiver<String>,
    /// The lines read from `lines` so far, so that each can be asked for more than once.
    printed: std::cell::RefCell<Vec<String>>,
    /// The room's database.
    pub db: PathBuf,
}

/// The repository root: the server reads the kata catalogue there.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("exercises").is_dir())
        .expect("the tests sit inside the kata repository")
        .to_path_buf()
}

/// The room's server: its own binary in the room's tests; in the checker's tests, `cargo kata
/// serve`, as an instructor starts it (cargo builds the server first, which takes a while).
fn server_command() -> (Command, Duration) {
    let room = option_env!("CARGO_BIN_EXE_kata-room");
    let checker = option_env!("CARGO_BIN_EXE_checker");
    match (room, checker) {
        (Some(room), _) => (Command::new(room), PATIENCE),
        (None, Some(checker)) => {
            let mut cmd = Command::new(checker);
            // Into the checker tests' shared sandbox target (tests/util), so it is built once.
            let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sandbox-target");
            cmd.arg("serve").env("CARGO_TARGET_DIR", target);
            (cmd, FIRST_BUILD)
        }
        (None, None) => unreachable!("only the room's and the checker's tests start a room"),
    }
}

/// How long `cargo kata serve` may take to build the server before it starts.
const FIRST_BUILD: Duration = Duration::from_secs(600);

impl Server {
    /// A room with the code `CODE`.
    pub fn start(db: &Path, extra: &[&str]) -> Server {
        let mut args = vec!["--code", CODE];
        args.extend_from_slice(extra);
        Server::start_with(db, &args)
    }

    /// A room with only these arguments besides the address and the database.
    pub fn start_with(db: &Path, extra: &[&str]) -> Server {
        Server::start_in(&repo_root(), db, "127.0.0.1:0", extra)
    }

    /// A room served from the repository at `dir` (a learner's sandbox, say), on `listen`. A
    /// database that does not exist yet gets a new room (`--new-room`).
    pub fn start_in(dir: &Path, db: &Path, listen: &str, extra: &[&str]) -> Server {
        let mut args: Vec<&str> = extra.to_vec();
        if !db.exists() && !args.contains(&"--new-room") {
            args.push("--new-room");
        }
        Server::spawn(dir, db, listen, &args)
            .unwrap_or_else(|printed| panic!("serve did not start:\n{}", printed.join("\n")))
    }

    /// Serve with exactly these arguments; what it printed when it exits without listening.
    pub fn spawn(
        dir: &Path,
        db: &Path,
        listen: &str,
        extra: &[&str],
    ) -> Result<Server, Vec<String>> {
        let (mut server, patience) = server_command();
        let mut child = server
            .args(["--listen", listen, "--db"])
            .arg(db)
            .args(extra)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        // Both streams are drained on threads for the server's whole life, so it never writes
        // into a full or closed pipe; stderr is also passed on, for failing tests to show.
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let out = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if out.send(line).is_err() {
                    break;
                }
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("serve: {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut before = Vec::new();
        let url = loop {
            match lines.recv_timeout(patience) {
                Ok(line) => match line.strip_prefix("listening on ") {
                    Some(url) => break url.to_string(),
                    None => before.push(line),
                },
                // Both streams closed: serve exited.
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(before);
                }
            }
        };
        Ok(Server {
            child,
            url,
            lines,
            printed: std::cell::RefCell::new(before),
            db: db.to_path_buf(),
        })
    }

    /// `IP:PORT`, to start the room again where it was.
    pub fn address(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// The first line serve printed that contains `text`, waiting for it if need be.
    pub fn line_containing(&self, text: &str) -> String {
        if let Some(line) = self.printed.borrow().iter().find(|l| l.contains(text)) {
            return line.clone();
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.printed.borrow_mut().push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!("serve never printed a line containing `{text}`"),
            }
        }
    }

    /// The instructor's key, from the file serve keeps the dashboard address in (it never
    /// prints the key).
    pub fn key(&self) -> String {
        let line = self.line_containing("instructor dashboard:");
        let file = key_file(&self.db);
        assert!(
            line.contains(&file.display().to_string()),
            "serve names the file with the dashboard address: {line}"
        );
        let address = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        address
            .rsplit("?key=")
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// Every line printed so far (waiting a moment for more), for tests that look at all of it.
    pub fn printed_so_far(&self) -> Vec<String> {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(300)) {
            self.printed.borrow_mut().push(line);
        }
        self.printed.borrow().clone()
    }

    /// Stops the server the way a service manager would, and waits for it to exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)
            .expect("the server can be signalled");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("the server can be waited on") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {PATIENCE:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn get(&self, path: &str, bearer: Option<&str>) -> Answer {
        let mut request = agent().get(format!("{}{path}", self.url));
        if let Some(token) = bearer {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        Answer::from(request.call())
    }

    pub fn delete(&self, path: &str, bearer: Option<&str>) -> Answer {
        let mut request = agent().delete(format!("{}{path}", self.url));
        if let Some(token) = bearer {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        Answer::from(request.call())
    }

    pub fn post(&self, path: &str, bearer: Option<&str>, body: &Value) -> Answer {
        self.post_raw(path, bearer, body.to_string().into_bytes())
    }

    /// The room as the projector sees it.
    pub fn room(&self) -> Value {
        let answer = self.get(&format!("/api/room?code={CODE}"), None);
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json()
    }

    pub fn post_raw(&self, path: &str, bearer: Option<&str>, body: Vec<u8>) -> Answer {
        let mut request = agent()
            .post(format!("{}{path}", self.url))
            .header("Content-Type", "application/json");
        if let Some(token) = bearer {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        Answer::from(request.send(&body[..]))
    }

    /// Joins as `name`; the learner's id and token.
    pub fn join(&self, name: &str) -> (String, String) {
        let answer = self.post(
            "/api/join",
            None,
            &serde_json::json!({"room_code": CODE, "name": name}),
        );
        assert_eq!(answer.status, 200, "joining as {name}: {}", answer.body);
        let joined = answer.json();
        (
            joined["learner"].as_str().expect("an id").to_string(),
            joined["token"].as_str().expect("a token").to_string(),
        )
    }

    /// Reports a learner's row with `seq`; panics unless the room accepts it.
    pub fn report(&self, token: &str, seq: u64, katas: Value) {
        let body =
            serde_json::json!({"protocol": 1, "room_code": CODE, "seq": seq, "katas": katas});
        let answer = self.post("/api/report", Some(token), &body);
        assert_eq!(answer.status, 200, "reporting seq {seq}: {}", answer.body);
    }

    /// Opens `GET /events`; the events arrive on the receiver as (kind, data).
    pub fn events(&self, query: &str) -> mpsc::Receiver<(String, Value)> {
        let response = agent()
            .get(format!("{}/events?{query}", self.url))
            .call()
            .expect("the event stream opens");
        assert_eq!(response.status().as_u16(), 200);
        let reader = BufReader::new(response.into_body().into_reader());
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            let mut kind = String::new();
            for line in reader.lines() {
                let Ok(line) = line else { break };
                if let Some(k) = line.strip_prefix("event:") {
                    kind = k.trim().to_string();
                } else if let Some(data) = line.strip_prefix("data:") {
                    let value = serde_json::from_str(data.trim()).unwrap_or(Value::Null);
                    if tx.send((std::mem::take(&mut kind), value)).is_err() {
                        break;
                    }
                }
            }
        });
        events
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where serve keeps the instructor's dashboard address for the room in `db`.
pub fn key_file(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".instructor");
    PathBuf::from(name)
}

/// Waits for the first event that `wanted` accepts.
pub fn next_event(
    events: &mpsc::Receiver<(String, Value)>,
    what: &str,
    wanted: impl Fn(&str, &Value) -> bool,
) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok((kind, data)) if wanted(&kind, &data) => return data,
            Ok(_) => {}
            Err(_) => panic!("no {what} event within {PATIENCE:?}"),
        }
    }
}

/// A client that answers 4xx as responses, not errors, and gives up instead of hanging.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(PATIENCE))
        .build()
        .into()
}

/// Status and body of an answer.
pub struct Answer {
    pub status: u16,
    pub body: String,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("the answer is not JSON ({e}): {}", self.body))
    }

    /// The `error` of a 4xx answer, after checking its status.
    pub fn error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "expected {status}, got: {}", self.body);
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("a 4xx carries an error message: {}", self.body))
            .to_string()
    }
}

impl From<Result<ureq::http::Response<ureq::Body>, ureq::Error>> for Answer {
    fn from(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
        let mut response = result.unwrap_or_else(|e| panic!("the server answers: {e}"));
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Answer {
            status: response.status().as_u16(),
            body: response.body_mut().read_to_string().unwrap_or_default(),
            retry_after,
        }
    }
}
