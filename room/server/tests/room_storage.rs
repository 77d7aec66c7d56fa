//! What the room never loses, through the real binary: a 200 means the change is on disk, on a
//! full disk, a deleted database or a database that is not there at all.

mod room_util;

use room_util::{key_file, Server, CODE};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const LAZY: &str = "01-lazy-futures";

fn report(seq: u64, katas: Value) -> Value {
    json!({"protocol": 1, "room_code": CODE, "seq": seq, "katas": katas})
}

/// A row big enough to need fresh pages in the database: every kata failing with a long failure.
fn big_row(room: &Value, seq: u64) -> Value {
    let mut katas = serde_json::Map::new();
    for kata in room["katas"].as_array().unwrap() {
        let failure = format!("seq {seq}: {}", "x".repeat(280));
        katas.insert(
            kata["name"].as_str().unwrap().to_string(),
            json!({"status": "failing", "attempts": seq, "hints": 0, "failure": failure}),
        );
    }
    Value::Object(katas)
}

/// A small tmpfs mounted for the test, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// None (after saying why) where this machine does not let the test mount one.
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(SmallDisk { dir }),
            Ok(out) => {
                skip(&String::from_utf8_lossy(&out.stderr));
                None
            }
            Err(e) => {
                skip(&e.to_string());
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk with a file; returns it, to free the space again.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.path().join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 16 * 1024];
        while file.write_all(&chunk).is_ok() {}
        // The last partial chunk, byte by byte, so not even a page is left.
        while file.write_all(&[0]).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn skip(why: &str) {
    use std::io::Write;
    let banner = "=".repeat(66);
    let _ = writeln!(
        std::io::stderr(),
        "\n{banner}\n  skipped: cannot mount a small tmpfs here ({})\n  the full-disk test did NOT \
         run; it needs root (mount -t tmpfs)\n{banner}\n",
        why.trim()
    );
}

#[test]
fn on_a_full_disk_nothing_unsaved_is_acknowledged_and_retries_save_once_there_is_room() {
    let Some(disk) = SmallDisk::mount("2m") else {
        return;
    };
    let db = disk.path().join("room.db");
    let server = Server::start(&db, &[]);
    let (ada, token) = server.join("Ada");
    let room = server.room();
    let first = server.post("/api/report", Some(&token), &report(1, big_row(&room, 1)));
    assert_eq!(first.status, 200, "{}", first.body);

    let events = server.events(&format!("code={CODE}"));
    let filler = disk.fill();
    let mut statuses = Vec::new();
    for seq in 2..=10 {
        let answer = server.post(
            "/api/report",
            Some(&token),
            &report(seq, big_row(&room, seq)),
        );
        statuses.push((seq, answer.status));
    }
    let failed: Vec<u64> = statuses
        .iter()
        .filter(|(_, status)| *status == 500)
        .map(|(seq, _)| *seq)
        .collect();
    assert!(
        statuses.iter().all(|(_, s)| *s == 200 || *s == 500),
        "{statuses:?}"
    );
    assert!(
        failed.contains(&10),
        "the disk is full, so report 10 cannot be saved: {statuses:?}"
    );
    let saved = statuses
        .iter()
        .filter(|(_, s)| *s == 200)
        .map(|(seq, _)| *seq)
        .max()
        .unwrap_or(1);

    // The learner's retry of 10 must not be acknowledged while it still cannot be saved.
    let retry = server.post("/api/report", Some(&token), &report(10, big_row(&room, 10)));
    assert_eq!(
        retry.status, 500,
        "a retry is saved or refused: {}",
        retry.body
    );
    assert!(retry.body.contains("could not save"), "{}", retry.body);
    // Nobody saw the unsaved rows: the room still shows the last saved one.
    let now = server.room();
    let row = &now["learners"][0];
    assert_eq!(row["seq"], saved, "{now}");
    let problem = now["storage"]["problem"].as_str().unwrap_or_default();
    assert!(
        problem.contains("cannot save"),
        "the dashboard is told: {now}"
    );
    let unsaved_shown = |kind: &str, data: &Value| {
        assert!(
            kind != "learner" || data["seq"].as_u64() <= Some(saved),
            "the live feed showed a row that was not saved: {data}"
        );
    };
    room_util::next_event(&events, "storage", |kind, data| {
        unsaved_shown(kind, data);
        kind == "storage" && data["problem"].is_string()
    });
    for (kind, data) in events.try_iter() {
        unsaved_shown(&kind, &data);
    }
    server.line_containing("cannot save");

    // A join that fails leaves no ghost: its retry is not "already called Bob".
    let bob = server.post(
        "/api/join",
        None,
        &json!({"room_code": CODE, "name": "Bob"}),
    );
    assert_eq!(bob.status, 500, "{}", bob.body);
    let bob = server.post(
        "/api/join",
        None,
        &json!({"room_code": CODE, "name": "Bob"}),
    );
    assert_eq!(bob.status, 500, "{}", bob.body);

    // Space again: the same retries are saved, and the problem is cleared.
    std::fs::remove_file(&filler).unwrap();
    let retry = server.post("/api/report", Some(&token), &report(10, big_row(&room, 10)));
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.json()["seq"], 10);
    server.join("Bob");
    assert!(server.room()["storage"]["problem"].is_null());

    server.terminate();
    let server = Server::start(&db, &[]);
    let after = server.room();
    let ada_row = after["learners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["learner"] == ada.as_str())
        .unwrap();
    assert_eq!(
        ada_row["seq"], 10,
        "what was acknowledged is on disk: {after}"
    );
    assert_eq!(after["learners"].as_array().unwrap().len(), 2, "{after}");
    drop(server);
}

#[test]
fn a_deleted_database_is_reported_refuses_changes_and_leaves_a_copy_to_restart_from() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("room.db");
    let server = Server::start(&db, &[]);
    let (_, token) = server.join("Ada");
    server.report(
        &token,
        3,
        json!({LAZY: {"status": "passed", "attempts": 2, "hints": 0}}),
    );

    for file in ["room.db", "room.db-wal", "room.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(file));
    }
    let bob = server.post(
        "/api/join",
        None,
        &json!({"room_code": CODE, "name": "Bob"}),
    );
    assert_eq!(
        bob.status, 500,
        "a join that cannot be kept is refused: {}",
        bob.body
    );
    assert!(bob.body.contains("deleted"), "{}", bob.body);
    let refused = server.post("/api/report", Some(&token), &report(4, json!({})));
    assert_eq!(refused.status, 500, "{}", refused.body);
    let room = server.room();
    let problem = room["storage"]["problem"].as_str().unwrap_or_default();
    assert!(
        problem.contains("deleted") && problem.contains("room.db.rescued"),
        "the dashboard says what happened and where the copy is: {room}"
    );
    server.line_containing("was deleted or replaced");
    drop(server);

    // The instructor puts the copy back: the room is whole again.
    std::fs::rename(dir.path().join("room.db.rescued"), &db).unwrap();
    let server = Server::start(&db, &[]);
    let room = server.room();
    assert_eq!(room["learners"][0]["name"], "Ada", "{room}");
    assert_eq!(room["learners"][0]["seq"], 3, "{room}");
    assert_eq!(room["learners"].as_array().unwrap().len(), 1, "{room}");
}

#[test]
fn a_copy_never_overwrites_an_earlier_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("room.db");
    // What an earlier incident left, not moved back yet: perhaps all that is left of that room.
    let earlier = dir.path().join("room.db.rescued");
    std::fs::write(&earlier, "an earlier room's copy").unwrap();
    let server = Server::start(&db, &[]);
    server.join("Ada");

    for file in ["room.db", "room.db-wal", "room.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(file));
    }
    let bob = server.post(
        "/api/join",
        None,
        &json!({"room_code": CODE, "name": "Bob"}),
    );
    assert_eq!(bob.status, 500, "{}", bob.body);
    assert!(
        std::fs::read(&earlier).unwrap() == b"an earlier room's copy",
        "the earlier copy is left as it was"
    );
    let copy = dir.path().join("room.db.rescued-2");
    assert!(
        bob.body.contains(&copy.display().to_string()),
        "the answer names the new copy: {}",
        bob.body
    );
    drop(server);

    std::fs::rename(&copy, &db).unwrap();
    let server = Server::start(&db, &[]);
    let room = server.room();
    assert_eq!(room["learners"][0]["name"], "Ada", "{room}");
}

#[test]
fn a_copy_that_could_not_be_made_is_deleted_and_never_named() {
    let Some(disk) = SmallDisk::mount("2m") else {
        return;
    };
    let db = disk.path().join("room.db");
    let server = Server::start(&db, &[]);
    server.join("Ada");

    // The disk is full when the room's database is moved away: the copy cannot be written.
    let _filler = disk.fill();
    std::fs::rename(&db, disk.path().join("moved.db")).unwrap();
    let bob = server.post(
        "/api/join",
        None,
        &json!({"room_code": CODE, "name": "Bob"}),
    );
    assert_eq!(bob.status, 500, "{}", bob.body);
    assert!(
        bob.body.contains("no copy could be made") && !bob.body.contains("copied to"),
        "only a copy that was made is named: {}",
        bob.body
    );
    let problem = server.room()["storage"]["problem"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(problem.contains("no copy could be made"), "{problem}");
    server.line_containing("could not copy the room");
    let left: Vec<String> = std::fs::read_dir(disk.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("rescued"))
        .collect();
    assert!(left.is_empty(), "no half-made copy is left: {left:?}");
}

fn refused_start(db: &Path, extra: &[&str]) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    match Server::spawn(dir, db, "127.0.0.1:0", extra) {
        Ok(server) => panic!(
            "serve started on {}: {:?}",
            db.display(),
            server.printed_so_far()
        ),
        Err(printed) => printed.join("\n"),
    }
}

#[test]
fn a_missing_empty_or_damaged_database_is_never_silently_a_new_room() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("room.db");

    let missing = refused_start(&db, &["--code", CODE]);
    assert!(
        missing.contains("--new-room") && missing.contains("no room"),
        "{missing}"
    );
    assert!(!db.exists(), "nothing was created");

    std::fs::write(&db, b"").unwrap();
    let empty = refused_start(&db, &[]);
    assert!(empty.contains("holds no room"), "{empty}");
    assert!(!empty.contains("another"), "{empty}");
    assert_eq!(
        std::fs::metadata(&db).unwrap().len(),
        0,
        "the empty file is left as it was"
    );
    assert!(!dir.path().join("room.db-wal").exists());

    std::fs::write(&db, "this is not a database\n".repeat(400)).unwrap();
    let damaged = refused_start(&db, &[]);
    assert!(damaged.contains("not a SQLite database"), "{damaged}");
    assert!(!damaged.contains("another `cargo kata serve`"), "{damaged}");

    std::fs::remove_file(&db).unwrap();
    let server = Server::start(&db, &[]);
    server.join("Ada");
    let second = refused_start(&db, &[]);
    assert!(second.contains("another `cargo kata serve`"), "{second}");
    let again = refused_start(&db, &["--new-room"]);
    // Refused for holding a room, or for the lock: either way, never a fresh room over it.
    assert!(
        again.contains("already holds a room") || again.contains("another"),
        "{again}"
    );
    server.terminate();
    let again = refused_start(&db, &["--new-room"]);
    assert!(
        again.contains("already holds a room") && again.contains("learners: 1"),
        "{again}"
    );
}

#[test]
fn the_rooms_files_are_private_the_key_is_hashed_and_never_printed_and_can_be_rotated() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("room/room.db");
    let server = Server::start(&db, &[]);
    let key = server.key();
    assert_eq!(key.len(), 32, "{key}");
    server.join("Ada");
    let printed = server.printed_so_far().join("\n");
    assert!(
        !printed.contains(&key),
        "serve never prints the key:\n{printed}"
    );
    assert!(
        printed.contains("plain HTTP") && printed.contains("token"),
        "{printed}"
    );
    server.terminate();

    for file in [db.clone(), key_file(&db)] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is {mode:o}", file.display());
    }
    let folder = std::fs::metadata(db.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(folder, 0o700, "the room's folder is {folder:o}");
    let bytes = std::fs::read(&db).unwrap();
    let holds = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!holds(&key), "the database holds only the key's hash");

    // The same key after a restart; a new one with --rotate-key, and the old one stops working.
    let server = Server::start(&db, &[]);
    assert_eq!(server.key(), key);
    server.terminate();
    let server = Server::start(&db, &["--rotate-key"]);
    let rotated = server.key();
    assert_ne!(rotated, key);
    let body = json!({"unlocked_through": 2});
    server.post("/api/pacing", Some(&key), &body).error(401);
    assert_eq!(server.get(&format!("/?key={key}"), None).status, 403);
    let set = server.post("/api/pacing", Some(&rotated), &body);
    assert_eq!(set.status, 200, "{}", set.body);
}

#[test]
fn a_key_file_that_cannot_be_written_never_costs_the_instructor_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("room.db");
    let server = Server::start(&db, &[]);
    let old_key = server.key();
    server.terminate();
    let file = key_file(&db);
    let mut staged = file.clone().into_os_string();
    staged.push(".new");
    let staged = PathBuf::from(staged);
    let pacing = json!({"unlocked_through": 2});

    // A new key, but the key file cannot be replaced: the new key was saved in the room, so the
    // error says where it is, and that key works once the file is moved into place. (Before,
    // the room saved the new key's hash, then failed to write it anywhere: no key worked.)
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    std::fs::write(file.join("in the way"), "").unwrap();
    let printed = refused_start(&db, &["--rotate-key"]);
    assert!(
        printed.contains(&staged.display().to_string()) && printed.contains("--rotate-key"),
        "the error names the file holding the new key: {printed}"
    );
    std::fs::remove_dir_all(&file).unwrap();
    std::fs::rename(&staged, &file).unwrap();
    let server = Server::start(&db, &[]);
    let new_key = server.key();
    assert_ne!(new_key, old_key);
    let set = server.post("/api/pacing", Some(&new_key), &pacing);
    assert_eq!(set.status, 200, "{}", set.body);
    server
        .post("/api/pacing", Some(&old_key), &pacing)
        .error(401);
    server.terminate();

    // The next key cannot even be written down: the room keeps the key it has, and says so.
    std::fs::create_dir(&staged).unwrap();
    std::fs::write(staged.join("in the way"), "").unwrap();
    let printed = refused_start(&db, &["--rotate-key"]);
    assert!(
        printed.contains("key was not changed") && printed.contains("--rotate-key"),
        "{printed}"
    );
    std::fs::remove_dir_all(&staged).unwrap();
    let server = Server::start(&db, &[]);
    assert_eq!(
        server.key(),
        new_key,
        "the key in the file is still the room's"
    );
    let set = server.post("/api/pacing", Some(&new_key), &pacing);
    assert_eq!(set.status, 200, "{}", set.body);
}
