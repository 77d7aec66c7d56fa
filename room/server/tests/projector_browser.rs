//! The dashboard on a projector, in headless Chromium at 1280x720: 30 katas and 60 learners on
//! one screen, a header that stays in view when a bigger room scrolls, the join command for
//! latecomers (never the key), and details reachable without hovering. Screenshots are kept in
//! the target directory (`tmp/room-projector-*.png`) for a person to look at.

mod browser;
mod room_util;

use anyhow::{Context, Result};
use browser::{Chromium, Page};
use room_util::{Server, CODE};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(30);
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;

fn screenshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("room-projector-{name}.png"))
}

/// Learner `i`'s row: katas before `i % 30` passed, the next one failing.
fn row_of(i: usize, katas: &[String]) -> Value {
    let reached = i % katas.len();
    let mut row = serde_json::Map::new();
    for (k, kata) in katas.iter().enumerate().take(reached + 1) {
        let state = if k < reached {
            json!({"status": "passed", "attempts": 1 + k % 4, "hints": k % 2})
        } else {
            json!({"status": "failing", "attempts": 3, "hints": 1,
                   "failure": format!("test_{k}: assertion failed: learner {i} is stuck here")})
        };
        row.insert(kata.clone(), state);
    }
    Value::Object(row)
}

/// Joins learners `from..to` and reports a row for each; their (id, token)s.
fn fill(server: &Server, katas: &[String], from: usize, to: usize) -> Vec<(String, String)> {
    (from..to)
        .map(|i| {
            let (id, token) = server.join(&format!("Learner {i:03} Lovelace"));
            server.report(&token, 1, row_of(i, katas));
            (id, token)
        })
        .collect()
}

/// The page's geometry, as the test checks it.
const GEOMETRY: &str = r#"(() => {
  const rows = [...document.querySelectorAll('table#room tr[data-learner]')];
  const rect = (e) => e ? e.getBoundingClientRect() : null;
  const cells = rows.flatMap(tr => [...tr.querySelectorAll('td[data-kata]')]);
  const heads = [...document.querySelectorAll('table#room thead th[data-kata]')];
  const last = (xs) => xs[xs.length - 1];
  const outside = cells.filter(td => {
    const r = td.getBoundingClientRect();
    return r.left < 0 || r.top < 0 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5;
  }).length;
  const name = rows.length ? rows[0].querySelector('.name') : null;
  return {
    rows: rows.length,
    columns: heads.length,
    live: document.querySelector('#connection').dataset.state === 'live',
    outside,
    last_column_right: heads.length ? rect(last(heads)).right : null,
    last_row_bottom: rows.length ? rect(last(rows)).bottom : null,
    cell_w: cells.length ? Math.min(...cells.map(td => td.getBoundingClientRect().width)) : 0,
    cell_h: cells.length ? Math.min(...cells.map(td => td.getBoundingClientRect().height)) : 0,
    name_font: name ? parseFloat(getComputedStyle(name).fontSize) : 0,
    name_shown: name ? name.getBoundingClientRect().width : 0,
    scroll_y: scrollY,
    scrollable: document.documentElement.scrollHeight > innerHeight,
    bar_top: rect(document.querySelector('#bar')).top,
    columns_top: rect(document.querySelector('#columns')).top,
    columns_bottom: rect(document.querySelector('#columns')).bottom,
    summary_top: rect(document.querySelector('#summary')).top,
    summary_bottom: rect(document.querySelector('#summary')).bottom,
    join: document.querySelector('#join-command').textContent,
    join_shown: !document.querySelector('#join').hidden,
    code_shown: document.querySelector('#room-code').textContent,
    text: document.body.innerText,
    html: document.documentElement.outerHTML,
  };
})()"#;

fn geometry(page: &mut Page, rows: u64) -> Result<Value> {
    page.wait_for(&format!("{rows} rows laid out"), PATIENCE, GEOMETRY, |g| {
        g["rows"] == rows && g["live"] == true && g["cell_w"].as_f64() > Some(0.0)
    })?;
    // Layout runs on the next frame after the rows arrive: let it settle.
    std::thread::sleep(Duration::from_millis(300));
    page.eval(GEOMETRY)
}

#[test]
fn thirty_katas_and_sixty_learners_fit_a_1280x720_projector_and_the_header_stays() -> Result<()> {
    if !browser::available()? {
        return Ok(());
    }
    let db = tempfile::tempdir()?;
    let server = Server::start(
        &db.path().join("room.db"),
        &[
            "--unlock-through",
            "20",
            "--max-learners",
            "200",
            "--joins-per-minute",
            "0",
        ],
    );
    let key = server.key();
    let room = server.room();
    let katas: Vec<String> = room["katas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(katas.len(), 30, "the repository has 30 katas");
    fill(&server, &katas, 0, 60);

    let chromium = Chromium::start()?;
    let mut page = chromium.page()?;
    page.set_viewport(WIDTH, HEIGHT)?;
    page.navigate(&format!("{}/?code={CODE}", server.url))?;
    let g = geometry(&mut page, 60).with_context(|| format!("chromium:\n{}", chromium.log()))?;
    let shot = screenshot_path("60-learners");
    assert_eq!(
        page.screenshot(&shot)?,
        (WIDTH, HEIGHT),
        "{}",
        shot.display()
    );
    eprintln!("screenshot: {}", shot.display());

    assert_eq!(g["columns"], 30);
    assert_eq!(
        g["outside"],
        0,
        "every cell of every row is on screen: {}",
        brief(&g)
    );
    assert!(
        g["last_column_right"].as_f64() <= Some(f64::from(WIDTH)),
        "{}",
        brief(&g)
    );
    assert!(
        g["last_row_bottom"].as_f64() <= Some(f64::from(HEIGHT)),
        "{}",
        brief(&g)
    );
    assert_eq!(g["scrollable"], false, "nothing to scroll: {}", brief(&g));
    // Readable from the back of the room: cells and names of a useful size.
    assert!(g["cell_w"].as_f64() >= Some(13.0), "{}", brief(&g));
    assert!(g["cell_h"].as_f64() >= Some(15.0), "{}", brief(&g));
    assert!(g["name_font"].as_f64() >= Some(11.0), "{}", brief(&g));
    // Wide enough for "Learner 000", the part of these names that tells learners apart.
    assert!(g["name_shown"].as_f64() >= Some(85.0), "{}", brief(&g));

    // Latecomers join from the screen: the command and the code, never the key.
    let join = g["join"].as_str().unwrap_or_default();
    assert!(
        join.starts_with("cargo kata join http://") && join.contains(&format!("--code {CODE}")),
        "{join}"
    );
    assert_eq!(g["join_shown"], true);
    assert_eq!(g["code_shown"], CODE);
    assert!(
        !g["html"].as_str().unwrap_or_default().contains(&key),
        "the key is not on the page"
    );
    let view = server.get(&format!("/api/room?code={CODE}"), None).body;
    assert!(!view.contains(&key), "nor in what the projector reads");

    // A bigger room scrolls, and the header, the kata numbers and the banner stay in view.
    fill(&server, &katas, 60, 150);
    geometry(&mut page, 150)?;
    page.eval("window.scrollTo(0, document.documentElement.scrollHeight)")?;
    std::thread::sleep(Duration::from_millis(300));
    let g = page.eval(GEOMETRY)?;
    let shot = screenshot_path("150-learners-scrolled");
    assert_eq!(page.screenshot(&shot)?, (WIDTH, HEIGHT));
    eprintln!("screenshot: {}", shot.display());
    assert_eq!(g["scrollable"], true, "{}", brief(&g));
    assert!(g["scroll_y"].as_f64() > Some(0.0), "{}", brief(&g));
    assert_eq!(g["bar_top"], 0.0, "{}", brief(&g));
    let bar_bottom = g["columns_top"].as_f64().unwrap_or(-1.0);
    assert!(
        (0.0..200.0).contains(&bar_bottom),
        "kata numbers in view: {}",
        brief(&g)
    );
    assert!(
        g["summary_top"].as_f64() >= g["columns_bottom"].as_f64(),
        "{}",
        brief(&g)
    );
    assert!(
        g["summary_bottom"].as_f64() <= Some(260.0),
        "banner in view: {}",
        brief(&g)
    );
    Ok(())
}

/// The geometry without the page's text and markup.
fn brief(g: &Value) -> Value {
    let mut g = g.clone();
    if let Some(map) = g.as_object_mut() {
        map.remove("text");
        map.remove("html");
    }
    g
}

#[test]
fn details_are_reachable_by_click_and_keyboard_and_rows_go_several_at_once() -> Result<()> {
    if !browser::available()? {
        return Ok(());
    }
    let db = tempfile::tempdir()?;
    let server = Server::start(&db.path().join("room.db"), &[]);
    let key = server.key();
    let (ada, ada_token) = server.join("Ada L.");
    let (typo, _) = server.join("Adaa");
    let (bot, _) = server.join("Bot 1");
    let failure = "polls_once: assertion failed: the future was polled twice";
    server.report(
        &ada_token,
        1,
        json!({"01-lazy-futures": {"status": "failing", "attempts": 4, "hints": 2, "failure": failure}}),
    );

    let chromium = Chromium::start()?;
    let mut page = chromium.page()?;
    page.set_viewport(WIDTH, HEIGHT)?;
    // A headless page has no window focus of its own; keyboard focus needs it.
    page.call(
        "Emulation.setFocusEmulationEnabled",
        json!({"enabled": true}),
    )?;
    page.navigate(&format!("{}/?key={key}", server.url))?;
    let cell = format!("tr[data-learner=\"{ada}\"] td[data-kata=\"01-lazy-futures\"]");
    page.wait_for(
        "Ada's failing cell",
        PATIENCE,
        &format!(
            "document.querySelector('{cell}') && document.querySelector('{cell}').dataset.state"
        ),
        |s| s == "failing",
    )
    .with_context(|| format!("chromium:\n{}", chromium.log()))?;

    // A click on the cell shows its failure, runs and hints: no hover needed.
    page.eval(&format!("document.querySelector('{cell}').click()"))?;
    let details = "(() => { const d = document.querySelector('#details'); \
                   return d.hidden ? null : d.innerText; })()";
    let shown = page.wait_for("the cell's details", PATIENCE, details, |d| d.is_string())?;
    let shown = shown.as_str().unwrap_or_default();
    assert!(
        shown.contains(failure) && shown.contains("4 runs") && shown.contains("2 hints"),
        "{shown}"
    );
    assert!(shown.contains("last result at"), "{shown}");
    page.eval("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}))")?;
    page.wait_for("the details to close", PATIENCE, details, Value::is_null)?;

    // Focusing a row (Tab onto its name) shows the learner: when they last reported, and why
    // they fail.
    page.eval(&format!(
        "document.querySelector('tr[data-learner=\"{ada}\"] th.who').focus()"
    ))?;
    let shown = page.wait_for("the row's details", PATIENCE, details, |d| d.is_string())?;
    let shown = shown.as_str().unwrap_or_default();
    assert!(
        shown.contains("Ada L.") && shown.contains("last result at") && shown.contains(failure),
        "{shown}"
    );

    // Two rows ticked and removed together.
    page.eval(&format!(
        "window.confirm = () => true; \
         for (const id of ['{typo}', '{bot}']) \
           document.querySelector(`tr[data-learner=\"${{id}}\"] input.pick`).click(); \
         document.querySelector('#remove-selected').click()"
    ))?;
    page.wait_for(
        "the two rows to go",
        PATIENCE,
        "document.querySelectorAll('tr[data-learner]').length",
        |n| n == 1,
    )?;
    let names: Vec<Value> = server.room()["learners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].clone())
        .collect();
    assert_eq!(names, [json!("Ada L.")]);

    // The database vanishes: the dashboard says so, on the page itself.
    for file in ["room.db", "room.db-wal", "room.db-shm"] {
        let _ = std::fs::remove_file(db.path().join(file));
    }
    let join = server.post(
        "/api/join",
        None,
        &json!({"room_code": CODE, "name": "Late"}),
    );
    assert_eq!(join.status, 500, "{}", join.body);
    let banner = page.wait_for(
        "the storage banner",
        PATIENCE,
        "(() => { const b = document.querySelector('#storage'); return b.hidden ? null : b.textContent; })()",
        |b| b.is_string(),
    )?;
    assert!(
        banner.as_str().unwrap_or_default().contains("deleted"),
        "{banner}"
    );
    let shot = screenshot_path("instructor-storage-banner");
    page.screenshot(&shot)?;
    eprintln!("screenshot: {}", shot.display());
    Ok(())
}
