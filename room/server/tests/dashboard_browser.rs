//! The workshop dashboard in a real headless Chromium: it renders the room from `serve` and
//! follows reports live, without a reload (docs/workshop.md, "The dashboard page").

mod browser;
mod room_util;

use anyhow::{Context, Result};
use browser::Chromium;
use room_util::{Server, CODE};
use serde_json::{json, Value};
use std::time::Duration;

const LAZY: &str = "01-lazy-futures";
const BLOCKING: &str = "03-blocking-the-runtime";
const OPEN: &str = "02-hand-written-future";
/// Locked: the room opens katas 1 to 3 only.
const LOCKED: &str = "05-spawn-independent-work";
/// How long the page may take to show a change; generous for a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(20);

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
    let db = tempfile::tempdir()?;
    let server = Server::start(&db.path().join("room.db"), &["--unlock-through", "3"]);
    let (ada, ada_token) = server.join("Ada L.");
    let (grace, grace_token) = server.join("Grace H.");
    let compile_error = "error[E0308]: mismatched types";
    server.report(
        &ada_token,
        1,
        json!({ LAZY: failing(2, compile_error), OPEN: passed(1) }),
    );

    let chromium = Chromium::start()?;
    let mut page = chromium.page()?;
    page.navigate(&format!("{}/?code={CODE}", server.url))?;
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
    );
    server.report(&grace_token, 1, json!({ BLOCKING: failing(4, deadlock) }));

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

#[test]
fn the_instructor_opens_katas_and_removes_a_row_from_the_dashboard() -> Result<()> {
    if !browser::available()? {
        return Ok(());
    }
    let db = tempfile::tempdir()?;
    let server = Server::start(&db.path().join("room.db"), &["--unlock-through", "3"]);
    let key = server.key();
    let (_, token) = server.join("Ada L.");

    let chromium = Chromium::start()?;
    let mut page = chromium.page()?;
    page.navigate(&format!("{}/?key={key}", server.url))?;
    let header_locked = format!(
        r#"(() => {{
  const th = document.querySelector('table#room thead th[data-kata="{LOCKED}"]');
  const select = document.querySelector('#unlock');
  return {{
    locked: th ? th.hasAttribute('data-locked') : null,
    controls: !!select && select.offsetParent !== null,
    connection: document.querySelector('#connection').getAttribute('data-state'),
  }};
}})()"#
    );
    page.wait_for(
        "the instructor's view with its pacing controls",
        PATIENCE,
        &header_locked,
        |s| s["locked"] == true && s["controls"] == true && s["connection"] == "live",
    )
    .with_context(|| format!("chromium's log:\n{}", chromium.log()))?;

    // The instructor picks "through 6" and presses Apply, as they would with the mouse.
    page.eval(
        "(() => { const s = document.querySelector('#unlock'); s.value = '6'; \
         s.dispatchEvent(new Event('change')); document.querySelector('#apply-pacing').click(); })()",
    )?;
    page.wait_for(
        "05 to be unlocked on the page",
        PATIENCE,
        &header_locked,
        |s| s["locked"] == false,
    )?;
    let pacing = server.get("/api/pacing", Some(&token)).json();
    assert_eq!(
        pacing["unlocked_through"], 6,
        "the learners' pacing follows the dashboard: {pacing}"
    );

    // A mistyped join: the instructor removes the row with its × (and says yes when asked).
    let (typo, _) = server.join("Adaa");
    let row_shown = format!("!!document.querySelector('tr[data-learner=\"{typo}\"]')");
    page.wait_for("the mistyped row", PATIENCE, &row_shown, |shown| {
        shown == &Value::Bool(true)
    })?;
    page.eval(&format!(
        "window.confirm = () => true; \
         document.querySelector('tr[data-learner=\"{typo}\"] button.remove').click()"
    ))?;
    page.wait_for("the row to go", PATIENCE, &row_shown, |shown| {
        shown == &Value::Bool(false)
    })?;
    let room = server.get(&format!("/api/room?code={CODE}"), None).json();
    assert_eq!(
        room["learners"].as_array().map(Vec::len),
        Some(1),
        "the room forgot the removed learner: {room}"
    );
    Ok(())
}

#[test]
fn a_pick_in_the_pacing_controls_stays_while_learners_join_until_it_is_applied() -> Result<()> {
    if !browser::available()? {
        return Ok(());
    }
    let db = tempfile::tempdir()?;
    let server = Server::start(&db.path().join("room.db"), &["--unlock-through", "3"]);
    let key = server.key();
    server.join("Ada L.");

    let chromium = Chromium::start()?;
    let mut page = chromium.page()?;
    page.navigate(&format!("{}/?key={key}", server.url))?;
    let controls = r#"(() => {
  const rows = [...document.querySelectorAll('table#room tr[data-learner]')];
  return {
    unlock: document.querySelector('#unlock').value,
    status: document.querySelector('#pacing-status').textContent,
    connection: document.querySelector('#connection').getAttribute('data-state'),
    learners: rows.length,
    placed: rows.filter((tr) => tr.style.gridRow !== '').length,
  };
})()"#;
    page.wait_for(
        "the instructor's view with the pacing at 03",
        PATIENCE,
        controls,
        |s| s["unlock"] == "3" && s["connection"] == "live" && s["placed"] == 1,
    )
    .with_context(|| format!("chromium's log:\n{}", chromium.log()))?;

    // The instructor picks "through 7" but has not pressed Apply yet; the status line holds a
    // message of the page's (an error, say), which only a pacing change may replace.
    page.eval(
        "(() => { const s = document.querySelector('#unlock'); s.value = '7'; \
         s.dispatchEvent(new Event('change')); \
         document.querySelector('#pacing-status').textContent = 'a message to keep'; })()",
    )?;
    // Meanwhile a learner joins and the window changes size: both lay the page out again.
    server.join("Grace H.");
    page.wait_for("the new row to be laid out", PATIENCE, controls, |s| {
        s["learners"] == 2 && s["placed"] == 2
    })?;
    let cell_width = "document.documentElement.style.getPropertyValue('--cell-w')";
    let before = page.eval(cell_width)?;
    page.set_viewport(1000, 700)?;
    page.wait_for("a layout for the new size", PATIENCE, cell_width, |w| {
        w != &before
    })?;
    let after = page.eval(controls)?;
    assert_eq!(
        after["unlock"], "7",
        "a join or a resize must not undo the instructor's pick: {after:#}"
    );
    assert_eq!(
        after["status"], "a message to keep",
        "laying the page out must not erase the status line: {after:#}"
    );

    // Apply sends the pick, and the controls then show the room's new pacing.
    page.eval("document.querySelector('#apply-pacing').click()")?;
    page.wait_for("the pacing to be applied", PATIENCE, controls, |s| {
        s["status"].as_str().is_some_and(|t| t.contains("after 07"))
    })?;
    let pacing = server.get(&format!("/api/room?code={CODE}"), None).json();
    assert_eq!(
        pacing["pacing"]["unlocked_through"], 7,
        "Apply posted the pick: {pacing}"
    );
    Ok(())
}
