//! The workshop room's server, driven through the real binary: `cargo kata serve` on a free
//! port with a room database in a temporary folder.

mod room_util;

use room_util::{next_event, Server, CODE};
use serde_json::{json, Value};

const LAZY: &str = "01-lazy-futures";
const CLOSE: &str = "10-channel-close";

fn report(seq: u64, katas: Value) -> Value {
    json!({"protocol": 1, "room_code": CODE, "seq": seq, "katas": katas})
}

fn failing(attempts: u32, failure: &str) -> Value {
    json!({"status": "failing", "attempts": attempts, "hints": 1, "failure": failure})
}

fn row<'a>(room: &'a Value, learner: &str) -> &'a Value {
    room["learners"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["learner"] == learner))
        .unwrap_or_else(|| panic!("learner {learner} is in the room: {room}"))
}

#[test]
fn learners_join_report_and_appear_in_the_room_and_bad_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("room.db"), &[]);
    assert_eq!(server.get("/healthz", None).body, "ok");

    let (ada, token) = server.join("Ada");
    let ack = server.post(
        "/api/report",
        Some(&token),
        &report(2, json!({LAZY: failing(3, "assertion failed: polled")})),
    );
    assert_eq!(ack.status, 200, "{}", ack.body);
    assert_eq!(ack.json()["seq"], 2);

    let room = server.get(&format!("/api/room?code={CODE}"), None).json();
    let katas = room["katas"].as_array().unwrap();
    assert_eq!(katas[0]["name"], LAZY);
    assert_eq!(katas[0]["order"], 1);
    let ada_row = row(&room, &ada);
    assert_eq!(ada_row["name"], "Ada");
    assert_eq!(ada_row["seq"], 2);
    assert_eq!(ada_row["katas"][LAZY]["status"], "failing");
    assert_eq!(ada_row["katas"][LAZY]["attempts"], 3);
    assert_eq!(room["summary"]["stuck_kata"], LAZY);
    assert_eq!(
        room["summary"]["common_failure"],
        "assertion failed: polled"
    );

    // A report that arrives late (an older seq) is acknowledged and changes nothing.
    let stale = server.post("/api/report", Some(&token), &report(1, json!({})));
    assert_eq!(stale.status, 200, "{}", stale.body);
    assert_eq!(stale.json()["seq"], 2);
    let room = server.get(&format!("/api/room?code={CODE}"), None).json();
    assert_eq!(row(&room, &ada)["katas"][LAZY]["attempts"], 3);

    // Who may do what.
    let wrong_code = json!({"protocol": 1, "room_code": "NOPE", "seq": 9, "katas": {}});
    let error = server
        .post("/api/report", Some(&token), &wrong_code)
        .error(403);
    assert!(error.contains("room code"), "{error}");
    server
        .post(
            "/api/join",
            None,
            &json!({"room_code": "NOPE", "name": "Eve"}),
        )
        .error(403);
    let error = server
        .post("/api/report", Some("not-a-token"), &report(9, json!({})))
        .error(401);
    assert!(error.contains("token"), "{error}");
    server
        .post("/api/report", None, &report(9, json!({})))
        .error(401);
    server.get("/api/room?code=NOPE", None).error(403);
    server.get("/", None).error(403);

    // Names.
    let error = server
        .post(
            "/api/join",
            None,
            &json!({"room_code": CODE, "name": "ada "}),
        )
        .error(409);
    assert!(error.contains("already"), "{error}");
    for bad in ["", "   ", "tab\there", &"x".repeat(41)] {
        server
            .post("/api/join", None, &json!({"room_code": CODE, "name": bad}))
            .error(422);
    }

    // Reports that make no sense.
    let error = server
        .post(
            "/api/report",
            Some(&token),
            &report(9, json!({"99-no-such-kata": failing(1, "x")})),
        )
        .error(422);
    assert!(error.contains("99-no-such-kata"), "{error}");
    let error = server
        .post(
            "/api/report",
            Some(&token),
            &report(9, json!({LAZY: failing(1, &"x".repeat(301))})),
        )
        .error(422);
    assert!(error.contains("300"), "{error}");
    let mut other_protocol = report(9, json!({}));
    other_protocol["protocol"] = json!(2);
    server
        .post("/api/report", Some(&token), &other_protocol)
        .error(422);
    let twice = format!(
        r#"{{"protocol":1,"room_code":"{CODE}","seq":9,"katas":{{"{LAZY}":{f},"{LAZY}":{f}}}}}"#,
        f = failing(1, "x")
    );
    let error = server
        .post_raw("/api/report", Some(&token), twice.into_bytes())
        .error(422);
    assert!(error.contains("twice"), "{error}");
    // An invalid report is refused even when its seq is not newer than the saved one (2): it
    // must not pass for a late report and be acknowledged.
    for seq in [1, 2] {
        let error = server
            .post(
                "/api/report",
                Some(&token),
                &report(seq, json!({"99-no-such-kata": failing(1, "x")})),
            )
            .error(422);
        assert!(error.contains("99-no-such-kata"), "seq {seq}: {error}");
        let mut other_protocol = report(seq, json!({}));
        other_protocol["protocol"] = json!(2);
        let error = server
            .post("/api/report", Some(&token), &other_protocol)
            .error(422);
        assert!(error.contains("protocol"), "seq {seq}: {error}");
        let too_many = json!({LAZY: {"status": "failing", "attempts": 10_000, "hints": 0}});
        let error = server
            .post("/api/report", Some(&token), &report(seq, too_many))
            .error(422);
        assert!(error.contains("attempts"), "seq {seq}: {error}");
    }
    let error = server
        .post_raw("/api/report", Some(&token), b"{\"protocol\": 1,".to_vec())
        .error(400);
    assert!(error.contains("JSON"), "{error}");
    server
        .post("/api/report", Some(&token), &json!({"protocol": 1}))
        .error(422);
    let huge = report(
        9,
        json!({LAZY: {"status": "failing", "attempts": 1, "hints": 0, "failure": "x".repeat(70_000)}}),
    );
    let error = server.post("/api/report", Some(&token), &huge).error(413);
    assert!(error.contains("larger"), "{error}");

    // None of that hurt the room or the server.
    assert_eq!(server.get("/healthz", None).body, "ok");
    let room = server.get(&format!("/api/room?code={CODE}"), None).json();
    assert_eq!(room["learners"].as_array().unwrap().len(), 1);
    assert_eq!(row(&room, &ada)["seq"], 2);
    let page = server.get(&format!("/?code={CODE}"), None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"room\""));
}

#[test]
fn a_learner_rejoins_with_their_token_and_may_rename() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("room.db"), &[]);
    let (ada, token) = server.join("Ada");
    let (_, _) = server.join("Bob");
    let rejoin = |name: &str| {
        server.post(
            "/api/join",
            None,
            &json!({"room_code": CODE, "name": name, "token": token}),
        )
    };
    let again = rejoin("Ada");
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["learner"], ada.as_str());
    let renamed = rejoin("Ada L.");
    assert_eq!(renamed.json()["learner"], ada.as_str());
    rejoin("Bob").error(409);
    let room = server.get(&format!("/api/room?code={CODE}"), None).json();
    assert_eq!(row(&room, &ada)["name"], "Ada L.");
    // The old name is free again.
    server.join("Ada");
}

#[test]
fn the_instructor_paces_the_room_and_learners_read_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("room.db"), &["--unlock-through", "3"]);
    let key = server.key();
    assert_eq!(key.len(), 32, "{key}");
    let (_, token) = server.join("Ada");

    let pacing = server.get("/api/pacing", Some(&token));
    assert_eq!(pacing.status, 200, "{}", pacing.body);
    assert_eq!(pacing.json()["unlocked_through"], 3);
    server.get("/api/pacing", Some("nobody")).error(401);

    let events = server.events(&format!("key={key}"));
    next_event(&events, "room", |kind, _| kind == "room");

    let more = json!({"unlocked_through": 5});
    server.post("/api/pacing", Some(&token), &more).error(401);
    server.post("/api/pacing", None, &more).error(401);
    let set = server.post("/api/pacing", Some(&key), &more);
    assert_eq!(set.status, 200, "{}", set.body);
    let pacing = next_event(&events, "pacing", |kind, _| kind == "pacing");
    assert_eq!(pacing["unlocked_through"], 5);
    assert_eq!(
        server.get("/api/pacing", Some(&token)).json()["unlocked_through"],
        5
    );
    let ack = server.post("/api/report", Some(&token), &report(1, json!({})));
    assert_eq!(ack.json()["pacing"]["unlocked_through"], 5);

    let open = server.post(
        "/api/pacing",
        Some(&key),
        &json!({"unlocked_through": null}),
    );
    assert_eq!(open.status, 200, "{}", open.body);
    assert!(server.get("/api/pacing", Some(&token)).json()["unlocked_through"].is_null());
    assert_eq!(server.get(&format!("/?key={key}"), None).status, 200);
}

#[test]
fn the_event_stream_sends_the_room_then_each_report_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("room.db"), &[]);
    let (ada, token) = server.join("Ada");
    let events = server.events(&format!("code={CODE}"));
    let room = next_event(&events, "room", |kind, _| kind == "room");
    assert_eq!(room["learners"][0]["learner"], ada.as_str());

    let katas = json!({CLOSE: failing(2, "the receiver never ends")});
    let ack = server.post("/api/report", Some(&token), &report(1, katas));
    assert_eq!(ack.status, 200, "{}", ack.body);
    let row = next_event(&events, "learner", |kind, data| {
        kind == "learner" && data["seq"] == 1
    });
    assert_eq!(row["learner"], ada.as_str());
    assert_eq!(row["katas"][CLOSE]["attempts"], 2);
    let summary = next_event(&events, "summary", |kind, _| kind == "summary");
    assert_eq!(summary["stuck_kata"], CLOSE);
    assert_eq!(summary["failing"], 1);
    assert_eq!(summary["common_failure"], "the receiver never ends");
}

#[test]
fn the_room_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("room.db");
    let server = Server::start(&db, &["--unlock-through", "4"]);
    let key = server.key();
    let (ada, token) = server.join("Ada");
    let katas = json!({LAZY: {"status": "passed", "attempts": 4, "hints": 2}});
    assert_eq!(
        server
            .post("/api/report", Some(&token), &report(7, katas))
            .status,
        200
    );
    // A viewer stays connected: shutting down must end its stream, not wait for it.
    let _events = server.events(&format!("code={CODE}"));
    let status = server.terminate();
    assert!(status.success(), "serve exits cleanly on SIGTERM: {status}");

    // Without --code the stored code is kept, and so is the instructor's key.
    let server = Server::start_with(&db, &[]);
    assert_eq!(
        server.line_containing("room code:"),
        format!("room code: {CODE}")
    );
    assert_eq!(server.key(), key);
    let room = server.get(&format!("/api/room?code={CODE}"), None).json();
    let ada_row = row(&room, &ada);
    assert_eq!(ada_row["seq"], 7);
    assert_eq!(ada_row["katas"][LAZY]["status"], "passed");
    assert_eq!(ada_row["katas"][LAZY]["hints"], 2);
    assert_eq!(room["pacing"]["unlocked_through"], 4);
    // The learner's token still works, and old reports are still old.
    let stale = server.post("/api/report", Some(&token), &report(6, json!({})));
    assert_eq!(stale.json()["seq"], 7);
    server
        .post(
            "/api/join",
            None,
            &json!({"room_code": CODE, "name": "Ada"}),
        )
        .error(409);
}

#[test]
fn the_instructor_removes_a_learner_and_their_token_stops_working() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("room.db");
    let server = Server::start(&db, &[]);
    let key = server.key();
    let (typo, typo_token) = server.join("Adaa");
    let (_, token) = server.join("Ada");
    let katas = json!({CLOSE: failing(1, "the receiver never ends")});
    let ack = server.post("/api/report", Some(&typo_token), &report(1, katas));
    assert_eq!(ack.status, 200, "{}", ack.body);
    let events = server.events(&format!("key={key}"));
    next_event(&events, "room", |kind, _| kind == "room");

    let path = format!("/api/learners/{typo}");
    server.delete(&path, Some(&token)).error(401);
    server.delete("/api/learners/nobody", Some(&key)).error(404);
    let removed = server.delete(&path, Some(&key));
    assert_eq!(removed.status, 200, "{}", removed.body);
    next_event(&events, "removed", |kind, data| {
        kind == "removed" && data["learner"] == typo.as_str()
    });
    let summary = next_event(&events, "summary", |kind, _| kind == "summary");
    assert!(summary["stuck_kata"].is_null(), "{summary}");

    let room = server.get(&format!("/api/room?code={CODE}"), None).json();
    let names: Vec<&str> = room["learners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ada"]);
    let refused = server.post("/api/report", Some(&typo_token), &report(2, json!({})));
    refused.error(401);

    // Gone for good: a restart does not bring the row back, and the name is free again.
    server.terminate();
    let server = Server::start(&db, &[]);
    let room = server.get(&format!("/api/room?code={CODE}"), None).json();
    assert_eq!(room["learners"].as_array().unwrap().len(), 1, "{room}");
    server.join("Adaa");
}
