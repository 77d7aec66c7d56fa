//! The learner's side of a workshop room: joining, results reaching the room in the background,
//! catching up after the room was down, and the instructor's pacing in `list` and `watch`.

#![cfg(unix)]

#[path = "../../room/server/tests/room_util/mod.rs"]
mod room_util;
mod util;

use room_util::{Server, CODE};
use serde_json::Value;
use util::{eventually, Sandbox};

const KATA: &str = "01-lazy-futures";

/// A room served from the sandbox (with `extra` arguments to serve), which `name` has joined.
fn joined_room(sandbox: &Sandbox, name: &str, extra: &[&str]) -> Server {
    let db = sandbox.path(".room-test/room.db");
    let mut args = vec!["--code", CODE];
    args.extend_from_slice(extra);
    let room = Server::start_in(sandbox.root(), &db, "127.0.0.1:0", &args);
    let joined = sandbox.checker(&["join", &room.url, "--code", CODE, "--name", name]);
    assert_eq!(joined.code, 0, "{}{}", joined.stdout, joined.stderr);
    room
}

/// The learner's cell for `kata` in the room, if they are in it.
fn cell(room: &Server, name: &str, kata: &str) -> Option<Value> {
    let view = room.get(&format!("/api/room?code={CODE}"), None).json();
    let learners = view["learners"].as_array()?;
    let row = learners.iter().find(|l| l["name"] == name)?;
    Some(row["katas"].get(kata)?.clone())
}

#[test]
fn results_reach_the_room_and_catch_up_after_it_was_down() {
    let sandbox = Sandbox::new();
    let db = sandbox.path(".room-test/room.db");
    let room = joined_room(&sandbox, "Ada", &[]);

    let run = sandbox.checker(&["run", KATA]);
    assert_eq!(run.code, 1, "the untouched kata fails:\n{}", run.stdout);
    eventually("the failing run reaches the room", || {
        cell(&room, "Ada", KATA).is_some_and(|c| c["status"] == "failing")
    });
    let failure = cell(&room, "Ada", KATA).unwrap()["failure"].clone();
    assert!(
        failure.as_str().is_some_and(|f| f.contains(':')),
        "the room hears which test fails and why, not just that it fails: {failure}"
    );

    // The room goes down; the learner's loop does not notice.
    let address = room.address().to_string();
    room.terminate();
    sandbox.solve(KATA);
    let run = sandbox.checker(&["run", KATA]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let progress = sandbox.checker(&["progress", "--json"]).json();
    eventually("the sync gives up on the absent room and says why", || {
        let progress = sandbox.checker(&["progress", "--json"]).json();
        progress["room"]["last_error"].is_string()
    });
    assert_eq!(progress["room"]["unsent"], true, "{progress}");

    // Back up on the same database: the next command catches the room up.
    let room = Server::start_in(sandbox.root(), &db, &address, &[]);
    let listed = sandbox.checker(&["list"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    eventually("the pass made while the room was down reaches it", || {
        cell(&room, "Ada", KATA).is_some_and(|c| c["status"] == "passed")
    });
}

#[test]
fn locked_katas_show_as_locked_in_list_and_watch() {
    let sandbox = Sandbox::new();
    let room = joined_room(&sandbox, "Bo", &["--unlock-through", "2"]);

    let list = sandbox.checker(&["list", "--json"]).json();
    let locked: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["locked"] == true)
        .map(|k| k["order"].as_u64().unwrap())
        .collect();
    assert!(
        !locked.is_empty() && locked.iter().all(|&order| order > 2),
        "katas after 2 are locked, the first two are open: {locked:?}"
    );
    let table = sandbox.checker(&["list"]);
    assert!(table.stdout.contains("locked"), "{}", table.stdout);

    let watch = sandbox.checker_in_terminal(&["watch", "03"], "q");
    assert!(
        watch.stdout.contains("has not opened this kata"),
        "watch waits at a locked kata instead of running it:\n{}",
        watch.stdout
    );

    let wrong = sandbox.checker(&["join", &room.url, "--code", "NOPE", "--name", "Cy"]);
    assert_eq!(wrong.code, 2, "{}", wrong.stdout);
    assert!(
        wrong.stderr.contains("did not let you in"),
        "{}",
        wrong.stderr
    );
}

#[test]
fn the_first_list_after_an_unlock_shows_it() {
    let sandbox = Sandbox::new();
    let room = joined_room(&sandbox, "Ib", &["--unlock-through", "2"]);
    let locked = |sandbox: &Sandbox| -> Vec<u64> {
        let list = sandbox.checker(&["list", "--json"]).json();
        list.as_array()
            .unwrap()
            .iter()
            .filter(|k| k["locked"] == true)
            .map(|k| k["order"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(locked(&sandbox).first(), Some(&3));
    let key = room.key();
    let opened = room.post(
        "/api/pacing",
        Some(&key),
        &serde_json::json!({"unlocked_through": 5}),
    );
    assert_eq!(opened.status, 200, "{}", opened.body);
    // At once, not after the next background sync.
    assert_eq!(locked(&sandbox).first(), Some(&6), "list shows the unlock");
}

#[test]
fn watch_starts_a_locked_kata_by_itself_when_the_instructor_opens_it() {
    let sandbox = Sandbox::new();
    let room = joined_room(&sandbox, "Di", &["--unlock-through", "2"]);
    let key = room.key();

    let mut watch = sandbox.terminal_session(&["watch", "03"]);
    watch.wait_for("has not opened this kata", 1);
    let opened = room.post(
        "/api/pacing",
        Some(&key),
        &serde_json::json!({"unlocked_through": 3}),
    );
    assert_eq!(opened.status, 200, "{}", opened.body);
    // The kata runs without a key press: its check ends with the watch prompt.
    watch.wait_for("Save a file to run again", 1);
    watch.type_keys("q");
    let watch = watch.finish();
    assert_eq!(watch.code, 0, "{}{}", watch.stdout, watch.stderr);
}

#[test]
fn a_room_that_is_not_there_or_changed_its_code_is_explained_and_leave_stops_reporting() {
    let sandbox = Sandbox::new();
    let nowhere = sandbox.checker(&["join", "127.0.0.1:1", "--code", CODE, "--name", "Ed"]);
    assert_eq!(nowhere.code, 2, "{}", nowhere.stdout);
    assert!(
        nowhere.stderr.contains("cannot reach the room"),
        "{}",
        nowhere.stderr
    );

    let db = sandbox.path(".room-test/room.db");
    let room = joined_room(&sandbox, "Ed", &[]);
    let address = room.address().to_string();
    room.terminate();

    // The instructor starts the next day's room with a new code; yesterday's membership is refused.
    let _room = Server::start_in(sandbox.root(), &db, &address, &["--code", "NEWDAY"]);
    let hint = sandbox.checker(&["hint", KATA]);
    assert_eq!(hint.code, 0, "{}", hint.stderr);
    eventually("the refusal to be recorded", || {
        let progress = sandbox.checker(&["progress", "--json"]).json();
        progress["room"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("403") && e.contains("room code"))
    });
    let shown = sandbox.checker(&["progress"]);
    assert!(
        shown
            .stdout
            .contains(&format!("cargo kata join http://{address}")),
        "progress tells the learner how to get back in:\n{}",
        shown.stdout
    );

    let left = sandbox.checker(&["leave"]);
    assert_eq!(left.code, 0, "{}", left.stderr);
    let progress = sandbox.checker(&["progress", "--json"]).json();
    assert!(progress["room"].is_null(), "{progress}");
}

#[test]
fn a_progress_file_restored_from_an_older_copy_still_reaches_the_room() {
    let sandbox = Sandbox::new();
    let room = joined_room(&sandbox, "Flo", &[]);
    let hints_in_room = || cell(&room, "Flo", KATA).map(|c| c["hints"].clone());
    // The background sync records the room's answer after the room has it: wait for both.
    let all_sent = || {
        eventually("the sync to record the room's answer", || {
            sandbox.checker(&["progress", "--json"]).json()["room"]["unsent"] == false
        })
    };

    sandbox.checker(&["hint", KATA]);
    eventually("the first hint to reach the room", || {
        hints_in_room() == Some(1.into())
    });
    all_sent();
    let older = sandbox.read(".kata/progress.json");
    sandbox.checker(&["hint", KATA]);
    sandbox.checker(&["hint", KATA]);
    eventually("the third hint to reach the room", || {
        hints_in_room() == Some(3.into())
    });
    all_sent();

    // The learner puts back yesterday's copy and carries on from there.
    sandbox.write(".kata/progress.json", &older);
    sandbox.checker(&["hint", KATA]);
    eventually("the room to follow the restored progress", || {
        hints_in_room() == Some(2.into())
    });
}

#[test]
fn serve_reads_a_relative_db_from_the_folder_it_was_typed_in() {
    let sandbox = Sandbox::new();
    // The instructor is in a kata's folder, inside the repository but not at its root.
    let folder = sandbox.path(&format!("exercises/{KATA}"));
    let relative = std::path::Path::new("rooms/room.db");
    let room = Server::spawn(
        &folder,
        relative,
        "127.0.0.1:0",
        &["--new-room", "--code", CODE],
    )
    .unwrap_or_else(|printed| panic!("serve did not start:\n{}", printed.join("\n")));
    room.line_containing("new room in");
    assert!(
        folder.join(relative).is_file(),
        "the room is where the instructor asked, under {}",
        folder.display()
    );
    assert!(
        !sandbox.path("rooms").exists(),
        "not under the repository's root"
    );
    room.terminate();
}
