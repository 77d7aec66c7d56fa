//! The workshop dashboard in a real headless Chromium: it renders the room from `serve` and
//! follows reports live, without a reload (docs/workshop.md, "The dashboard page").

mod browser;

use anyhow::{bail, Context, Result};
use browser::Chromium;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const CODE: &str = "brw-tst";
const LAZY: &str = "01-lazy-futures";
const BLOCKING: &str = "03-blocking-the-runtime";
const OPEN: &str = "02-hand-written-future";
/// Locked: the room opens katas 1 to 3 only.
const LOCKED: &str = "05-spawn-independent-work";
/// How long the page may take to show a change; generous for a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(20);

/// `serve` on a free loopback port with a room of its own; killed on drop.
struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Result<Server> {
        let dir = tempfile::tempdir()?;
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("checker/ is inside the repository")?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_checker"))
            .args(["serve", "--listen", "127.0.0.1:0", "--code", CODE, "--db"])
            .arg(dir.path().join("room.db"))
            .args(["--unlock-through", "3"])
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot start checker serve")?;
        let stdout = child.stdout.take().context("serve's stdout")?;
        // Read on a thread, so a silent server costs a bounded wait, and keep draining the
        // lines after the first so the server never blocks on a full pipe.
        let (first_tx, first_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = first_tx.send(lines.next());
            for _ in lines {}
        });
        let mut server = Server {
            child,
            base: String::new(),
            _dir: dir,
        };
        let first = match first_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(Ok(line))) => line,
            Ok(_) => bail!("serve exited or closed stdout without printing its address"),
            Err(_) => bail!("serve printed no address in 60 s"),
        };
        let Some(base) = first.strip_prefix("listening on ") else {
            bail!("serve's first line is not `listening on http://IP:PORT`: {first:?}");
        };
        server.base = base.trim().trim_end_matches('/').to_string();
        Ok(server)
    }

    fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Result<Value> {
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(30)))
                .build(),
        );
        let url = format!("{}{path}", self.base);
        let mut request = agent.post(&url);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request
            .send_json(body)
            .with_context(|| format!("POST {url}"))?;
        let status = response.status();
        let text = response.body_mut().read_to_string()?;
        if status != 200 {
            bail!("POST {path} answered {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("POST {path} answered {text}"))
    }

    /// Joins a learner; returns (learner id, token).
    fn join(&self, name: &str) -> Result<(String, String)> {
        let joined = self.post(
            "/api/join",
            None,
            &json!({ "room_code": CODE, "name": name }),
        )?;
        match (joined["learner"].as_str(), joined["token"].as_str()) {
            (Some(id), Some(token)) => Ok((id.to_string(), token.to_string())),
            _ => bail!("join answered without learner and token: {joined}"),
        }
    }

    fn report(&self, token: &str, seq: u64, katas: Value) -> Result<()> {
        let body = json!({ "protocol": 1, "room_code": CODE, "seq": seq, "katas": katas });
        self.post("/api/report", Some(token), &body).map(drop)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn failing(attempts: u32, failure: &str) -> Value {
    json!({ "status": "failing", "attempts": attempts, "hints": 1, "failure": failure })
}

fn passed(attempts: u32) -> Value {
    json!({ "status": "passed", "attempts": attempts, "hints": 0 })
}

/// Everything the test reads from the page, in one evaluation.
fn snapshot_js(ada: &str, grace: &str) -> String {
    format!(
        r#"(() => {{
  const td = (who, kata) =>
    document.querySelector(`table#room tr[data-learner="${{who}}"] td[data-kata="${{kata}}"]`);
  const cell = (who, kata) => td(who, kata) ? td(who, kata).getAttribute('data-state') : null;
  const header = (kata) => {{
    const th = [...document.querySelectorAll('table#room [data-kata]')]
      .find(e => e.getAttribute('data-kata') === kata && !e.closest('tr[data-learner]'));
    return th ? th.hasAttribute('data-locked') : null;
  }};
  const summary = document.querySelector('#summary');
  const stuck = summary && (summary.hasAttribute('data-stuck-kata')
    ? summary : summary.querySelector('[data-stuck-kata]'));
  const connection = document.querySelector('#connection');
  return {{
    learners: document.querySelectorAll('table#room tr[data-learner]').length,
    ada: {{
      lazy: cell('{ada}', '{LAZY}'),
      lazy_tooltip: td('{ada}', '{LAZY}') ? td('{ada}', '{LAZY}').title : null,
      blocking: cell('{ada}', '{BLOCKING}'),
    }},
    grace: {{ lazy: cell('{grace}', '{LAZY}'), blocking: cell('{grace}', '{BLOCKING}') }},
    connection: connection ? connection.getAttribute('data-state') : null,
    stuck: stuck ? stuck.getAttribute('data-stuck-kata') : null,
    summary: summary ? summary.textContent : null,
    locked: header('{LOCKED}'),
    open: header('{OPEN}'),
    same_document: window.__kataNoReload === true,
  }};
}})()"#
    )
}

#[test]
fn the_dashboard_renders_the_room_and_follows_reports_live() -> Result<()> {
    if !browser::available()? {
        return Ok(());
    }
    let server = Server::start()?;
    let (ada, ada_token) = server.join("Ada L.")?;
    let (grace, grace_token) = server.join("Grace H.")?;
    let compile_error = "error[E0308]: mismatched types";
    server.report(
        &ada_token,
        1,
        json!({ LAZY: failing(2, compile_error), OPEN: passed(1) }),
    )?;

    let chromium = Chromium::start()?;
    let mut page = chromium.page()?;
    page.navigate(&format!("{}/?code={CODE}", server.base))?;
    let snapshot = snapshot_js(&ada, &grace);

    let first = page
        .wait_for(
            "both learners and Ada's failing cell",
            PATIENCE,
            &snapshot,
            |s| s["learners"] == 2 && s["ada"]["lazy"] == "failing",
        )
        .with_context(|| format!("chromium's log:\n{}", chromium.log()))?;
    let tooltip = first["ada"]["lazy_tooltip"].as_str().unwrap_or_default();
    assert!(
        tooltip.contains(compile_error),
        "the failing cell's tooltip shows the failure: {tooltip:?}"
    );
    assert_eq!(
        first["grace"]["lazy"], "not-started",
        "a learner who never reported shows not-started: {first:#}"
    );
    page.wait_for("#connection to be live", PATIENCE, &snapshot, |s| {
        s["connection"] == "live"
    })?;
    assert_eq!(
        first["locked"], true,
        "{LOCKED}'s header carries data-locked with --unlock-through 3: {first:#}"
    );
    assert_eq!(
        first["open"], false,
        "{OPEN}'s header is not locked: {first:#}"
    );

    // A marker the page loses if it reloads: the update must arrive over the live stream.
    page.eval("window.__kataNoReload = true")?;
    let deadlock = "test blocks_the_runtime panicked: timed out after 1s";
    server.report(
        &ada_token,
        2,
        json!({ LAZY: passed(3), OPEN: passed(1), BLOCKING: failing(1, deadlock) }),
    )?;
    server.report(&grace_token, 1, json!({ BLOCKING: failing(4, deadlock) }))?;

    let after = page.wait_for("the reports to reach the page", PATIENCE, &snapshot, |s| {
        s["ada"]["lazy"] == "passed"
            && s["grace"]["blocking"] == "failing"
            && s["stuck"] == BLOCKING
    })?;
    assert_eq!(
        after["same_document"], true,
        "the page updated by reloading instead of over its event stream: {after:#}"
    );
    assert_eq!(after["ada"]["blocking"], "failing", "{after:#}");
    let summary = after["summary"].as_str().unwrap_or_default();
    assert!(
        summary.to_lowercase().contains("blocking"),
        "#summary names the stuck kata: {summary:?}"
    );
    assert!(
        summary.contains("blocks_the_runtime"),
        "#summary shows the failure both learners see: {summary:?}"
    );
    Ok(())
}
