//! Pranks and mistakes, through the real binary: look-alike names, a room flooded with joins,
//! pacing bodies that would open every kata, counts out of bounds, a stuck banner learners
//! could write, and a restart that would undo the dashboard's pacing.

mod room_util;

use room_util::{Server, CODE};
use serde_json::{json, Value};

const LAZY: &str = "01-lazy-futures";

fn join_as(server: &Server, name: &str) -> room_util::Answer {
    server.post("/api/join", None, &json!({"room_code": CODE, "name": name}))
}

fn names(room: &Value) -> Vec<String> {
    room["learners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn names_are_normalised_and_look_alikes_and_invisible_characters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("room.db"), &[]);
    let joined = join_as(&server, "  Linus \u{a0}  T ");
    assert_eq!(joined.status, 200, "{}", joined.body);
    assert_eq!(names(&server.room()), ["Linus T"]);

    // A Cyrillic і, another case, a full-width L: all "Linus T" on the projector.
    for look_alike in ["L\u{456}nus T", "linus t", "\u{ff2c}inus T"] {
        let error = join_as(&server, look_alike).error(409);
        assert!(error.contains("looks the same"), "{look_alike:?}: {error}");
    }
    // Invisible characters and text direction overrides.
    for invisible in [
        "Linus\u{200b} T",
        "\u{202e}rorrim live",
        "Ada\u{2066}",
        "a\u{feff}b",
    ] {
        let error = join_as(&server, invisible).error(422);
        assert!(error.contains("invisible"), "{invisible:?}: {error}");
    }
    assert_eq!(names(&server.room()), ["Linus T"]);
}

#[test]
fn the_room_has_a_size_joins_are_limited_per_address_and_rows_go_several_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("room.db"),
        &["--max-learners", "3", "--joins-per-minute", "5"],
    );
    let key = server.key();
    let (a, _) = server.join("A");
    let (b, _) = server.join("B");
    let (_, c_token) = server.join("C");
    let error = join_as(&server, "D").error(409);
    assert!(
        error.contains("full") && error.contains("--max-learners"),
        "{error}"
    );
    // Five attempts a minute from one address, refused ones too: the sixth waits.
    join_as(&server, "E").error(409);
    let flooded = join_as(&server, "F");
    let error = flooded.error(429);
    assert!(error.contains("too many joins"), "{error}");
    let wait: u64 = flooded.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=12).contains(&wait), "Retry-After {wait}");

    // Several rows at once; an unknown id removes nobody.
    let path = "/api/learners/remove";
    server
        .post(path, Some(&key), &json!({"learners": [a, "nobody"]}))
        .error(404);
    assert_eq!(names(&server.room()).len(), 3);
    server
        .post(path, None, &json!({"learners": [a]}))
        .error(401);
    let removed = server.post(path, Some(&key), &json!({"learners": [a, b]}));
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(removed.json()["learners"], json!([a, b]));
    assert_eq!(names(&server.room()), ["C"]);
    // C is untouched and still reports.
    server.report(&c_token, 1, json!({}));
}

#[test]
fn pacing_bodies_must_name_a_kata_of_the_room_and_counts_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("room.db"), &["--unlock-through", "3"]);
    let key = server.key();
    for (body, says) in [
        (json!({}), "missing `unlocked_through`"),
        (
            json!({"unlock_through": 5}),
            "unknown field `unlock_through`",
        ),
        (
            json!({"unlocked_through": 5, "extra": 1}),
            "unknown field `extra`",
        ),
        (
            json!({"unlocked_through": 0}),
            "not one of this room's katas",
        ),
        (
            json!({"unlocked_through": 999}),
            "not one of this room's katas",
        ),
        (json!({"unlocked_through": "5"}), "kata number or null"),
        (json!({"unlocked_through": -1}), "kata number or null"),
        (json!([5]), "object"),
    ] {
        let error = server.post("/api/pacing", Some(&key), &body).error(422);
        assert!(error.contains(says), "{body}: {error}");
    }
    assert_eq!(
        server.room()["pacing"]["unlocked_through"],
        3,
        "nothing opened"
    );
    let set = server.post("/api/pacing", Some(&key), &json!({"unlocked_through": 30}));
    assert_eq!(set.status, 200, "{}", set.body);

    let (_, token) = server.join("Ada");
    for field in ["attempts", "hints"] {
        let mut state = json!({"status": "failing", "attempts": 1, "hints": 0, "failure": "x"});
        state[field] = json!(u32::MAX);
        let body = json!({"protocol": 1, "room_code": CODE, "seq": 1, "katas": {LAZY: state}});
        let error = server.post("/api/report", Some(&token), &body).error(422);
        assert!(error.contains(field) && error.contains("9999"), "{error}");
    }
    let mut state = json!({"status": "failing", "attempts": 9999, "hints": 9999, "failure": "x"});
    let body = json!({"protocol": 1, "room_code": CODE, "seq": 1, "katas": {LAZY: state.take()}});
    assert_eq!(server.post("/api/report", Some(&token), &body).status, 200);
}

#[test]
fn the_stuck_banner_groups_one_failure_across_thread_ids_and_a_tie_shows_none() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("room.db"), &[]);
    let failing = |failure: &str| json!({LAZY: {"status": "failing", "attempts": 1, "hints": 0, "failure": failure}});
    let panic = |id: u32| {
        format!(
            "polls_once: thread 'polls_once' ({id}) panicked at src/lib.rs:65:5:\n\
             assertion `left == right` failed: polled {id}0 times"
        )
    };
    // The thread id and the count in the message vary per run (5 digits and more).
    let (_, ada) = server.join("Ada");
    let (_, bob) = server.join("Bob");
    server.report(&ada, 1, failing(&panic(32152)));
    server.report(&bob, 1, failing(&panic(97714)));
    let summary = server.room()["summary"].clone();
    assert_eq!(summary["failing"], 2, "{summary}");
    assert_eq!(summary["common_failure_count"], 2, "{summary}");
    assert_eq!(
        summary["common_failure"], "polls_once: assertion `left == right` failed: polled … times",
        "{summary}"
    );

    // Two pranksters write the same text: a tie, and the banner shows neither.
    let (_, eve) = server.join("Eve");
    let (_, mal) = server.join("Mal");
    server.report(&eve, 1, failing("aaa: look at me"));
    server.report(&mal, 1, failing("aaa: look at me"));
    let summary = server.room()["summary"].clone();
    assert_eq!(summary["failing"], 4, "{summary}");
    assert!(summary["common_failure"].is_null(), "{summary}");
    assert_eq!(summary["failure_kinds"], 2, "{summary}");
}

#[test]
fn a_restart_keeps_the_dashboards_pacing_unless_asked_and_says_what_it_restored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("room.db");
    let server = Server::start(&db, &["--unlock-through", "3"]);
    server.line_containing("new room in");
    assert!(server
        .line_containing("pacing:")
        .contains("katas 1 to 3 open, the rest locked (from --unlock-through)"));
    let key = server.key();
    server.join("Ada");
    server.join("Bob");
    let set = server.post("/api/pacing", Some(&key), &json!({"unlocked_through": 5}));
    assert_eq!(set.status, 200, "{}", set.body);
    server.terminate();

    // The README's own command again: the dashboard's unlock stays.
    let server = Server::start(&db, &["--unlock-through", "3"]);
    assert!(server
        .line_containing("room reopened from")
        .ends_with("2 learners restored"));
    let pacing = server.line_containing("pacing:");
    assert!(
        pacing.contains("katas 1 to 5 open") && pacing.contains("--replace-pacing"),
        "{pacing}"
    );
    assert_eq!(server.room()["pacing"]["unlocked_through"], 5);
    server.terminate();

    let server = Server::start(&db, &["--unlock-through", "3", "--replace-pacing"]);
    assert!(server
        .line_containing("pacing:")
        .contains("from --unlock-through"));
    assert_eq!(server.room()["pacing"]["unlocked_through"], 3);
    server.terminate();

    let error = Server::spawn(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
        &db,
        "127.0.0.1:0",
        &["--unlock-through", "99"],
    )
    .err()
    .unwrap_or_default()
    .join("\n");
    assert!(error.contains("--unlock-through 99"), "{error}");
}
