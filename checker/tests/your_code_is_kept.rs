//! A learner's code and progress are never lost: `reset` keeps what it replaces and `--undo`
//! finds it again, and when the disk is full or a folder cannot be written, the files are left as
//! they were and the message names the path.

#![cfg(unix)]

mod util;

use std::path::{Path, PathBuf};
use std::process::Command;
use util::Sandbox;

const KATA: &str = "01-lazy-futures";

fn lib(sandbox: &Sandbox) -> String {
    sandbox.read(&format!("exercises/{KATA}/src/lib.rs"))
}

fn write_lib(sandbox: &Sandbox, text: &str) {
    sandbox.write(&format!("exercises/{KATA}/src/lib.rs"), text);
}

fn checker_ok(sandbox: &Sandbox, args: &[&str]) -> String {
    let run = sandbox.checker(args);
    assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
    run.stdout
}

#[test]
fn resetting_twice_then_undoing_brings_back_the_learners_code() {
    let sandbox = Sandbox::new();
    // The first command keeps the snapshot of the originals (the sandbox has no git history).
    checker_ok(&sandbox, &["list"]);
    let original = lib(&sandbox);
    let mine = format!("{original}\n// my first attempt\n");
    write_lib(&sandbox, &mine);

    checker_ok(&sandbox, &["reset", KATA]);
    let second = checker_ok(&sandbox, &["reset", KATA]);
    assert!(
        second.contains("already holds its original code"),
        "{second}"
    );
    assert_eq!(lib(&sandbox), original);

    checker_ok(&sandbox, &["reset", KATA, "--undo"]);
    assert_eq!(
        lib(&sandbox),
        mine,
        "--undo brings back the learner's code, not the original"
    );
    let again = sandbox.checker(&["reset", KATA, "--undo"]);
    assert_eq!(lib(&sandbox), mine, "{}", again.stderr);
}

#[test]
fn every_version_is_kept_listed_and_can_be_picked() {
    let sandbox = Sandbox::new();
    checker_ok(&sandbox, &["list"]);
    let original = lib(&sandbox);
    let first = format!("{original}\n// attempt one\n");
    let second = format!("{original}\n// attempt two\n");
    write_lib(&sandbox, &first);
    checker_ok(&sandbox, &["reset", KATA]);
    write_lib(&sandbox, &second);
    checker_ok(&sandbox, &["reset", KATA]);

    let list = checker_ok(&sandbox, &["reset", KATA, "--list"]);
    let rows: Vec<&str> = list
        .lines()
        .filter(|l| l.trim_start().starts_with(['1', '2']))
        .collect();
    assert_eq!(rows.len(), 2, "two backups, numbered: {list}");

    checker_ok(&sandbox, &["reset", KATA, "--undo"]);
    assert_eq!(
        lib(&sandbox),
        second,
        "the newest own code comes back first"
    );
    checker_ok(&sandbox, &["reset", KATA, "--undo", "2"]);
    assert_eq!(lib(&sandbox), first, "--undo 2 picks the older one");
    let list = checker_ok(&sandbox, &["reset", KATA, "--list"]);
    assert!(
        !list.lines().any(|l| l.trim_start().starts_with('3')),
        "bringing back a kept version keeps no duplicate: {list}"
    );
}

/// A small filesystem mounted for the test, unmounted when dropped; None where mounting is not
/// allowed (not root), so the test can say it was skipped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        if !mounted {
            eprintln!("skipped: cannot mount a small tmpfs here (needs root); the full-disk case is not checked");
            return None;
        }
        Some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk is full; returns it so a test can free the space again.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.path().join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        // Smaller writes take the last blocks too.
        while file.write_all(&[0u8; 512]).is_ok() {}
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_reset_on_a_full_disk_leaves_the_learners_code_as_it_was() {
    let Some(disk) = SmallDisk::mount(64) else {
        return;
    };
    let sandbox = Sandbox::new_in(disk.path());
    checker_ok(&sandbox, &["list"]); // the first contact takes the snapshots of the originals
    let mine = format!("{}\n// {}\n", lib(&sandbox), "my work ".repeat(2000));
    write_lib(&sandbox, &mine);
    let filler = disk.fill();

    let reset = sandbox.checker(&["reset", KATA]);
    assert_ne!(reset.code, 0, "a reset that could not keep the code fails");
    assert_eq!(lib(&sandbox), mine, "the learner's file is untouched");
    assert!(
        reset.stderr.contains("nothing was changed") && reset.stderr.contains(".kata/"),
        "the message says nothing changed and names the path: {}",
        reset.stderr
    );

    let hint = sandbox.checker(&["hint", KATA]);
    assert_ne!(hint.code, 0);
    assert!(
        hint.stderr.contains("progress.json") && hint.stderr.contains("not recorded"),
        "a progress file that cannot be saved is named: {}",
        hint.stderr
    );

    std::fs::remove_file(filler).unwrap();
    checker_ok(&sandbox, &["reset", KATA]);
    checker_ok(&sandbox, &["reset", KATA, "--undo"]);
    assert_eq!(lib(&sandbox), mine, "once there is room, nothing was lost");
}

#[test]
fn a_backups_folder_that_cannot_be_written_is_an_error_not_a_hang() {
    let sandbox = Sandbox::new();
    checker_ok(&sandbox, &["list"]);
    let mine = format!("{}\n// mine\n", lib(&sandbox));
    write_lib(&sandbox, &mine);
    let backups = sandbox.path(&format!(".kata/backups/{KATA}"));
    std::fs::create_dir_all(&backups).unwrap();
    // Root ignores permissions, so for root the folder is a read-only mount instead.
    let read_only_mount = rustix::process::geteuid().is_root()
        && Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro", "tmpfs"])
            .arg(&backups)
            .status()
            .is_ok_and(|s| s.success());
    if !read_only_mount {
        let mut permissions = std::fs::metadata(&backups).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o555);
        std::fs::set_permissions(&backups, permissions).unwrap();
    }

    let started = std::time::Instant::now();
    let reset = sandbox.checker(&["reset", KATA]);
    if read_only_mount {
        let _ = Command::new("umount").arg(&backups).status();
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_ne!(reset.code, 0);
    assert!(
        reset.stderr.contains(&format!(".kata/backups/{KATA}")),
        "the error names the folder: {}",
        reset.stderr
    );
    assert_eq!(lib(&sandbox), mine);
}

#[test]
fn temporary_files_of_a_killed_write_are_cleaned_up() {
    let sandbox = Sandbox::new();
    sandbox.write(".kata/progress.json.tmp-999999", "{ half a");
    checker_ok(&sandbox, &["hint", KATA]);
    assert!(!sandbox.path(".kata/progress.json.tmp-999999").exists());
}

#[test]
fn two_corrupt_progress_files_in_one_second_are_both_kept() {
    let sandbox = Sandbox::new();
    for garbage in ["{ first", "{ second"] {
        sandbox.write(".kata/progress.json", garbage);
        assert_eq!(sandbox.checker(&["list"]).code, 2);
    }
    let mut kept: Vec<String> = std::fs::read_dir(sandbox.path(".kata"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".corrupt-"))
        .map(|n| std::fs::read_to_string(sandbox.path(&format!(".kata/{n}"))).unwrap())
        .collect();
    kept.sort();
    assert_eq!(kept, ["{ first", "{ second"]);
}

#[test]
fn the_solution_diff_of_a_file_that_is_not_utf8_is_not_a_diff_of_an_empty_file() {
    let sandbox = Sandbox::new();
    let mut bytes = lib(&sandbox).into_bytes();
    bytes.extend_from_slice(b"\n// caf\xe9\n");
    std::fs::write(sandbox.path(&format!("exercises/{KATA}/src/lib.rs")), bytes).unwrap();
    let shown = sandbox.checker(&["solution", KATA, "--yes"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(shown.stderr.contains("not valid UTF-8"), "{}", shown.stderr);
    let added = shown
        .stdout
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .count();
    let total = lib_line_count(&sandbox);
    assert!(
        added < total / 2,
        "the diff compares the real text, not an empty file ({added} lines added of {total})"
    );
}

fn lib_line_count(sandbox: &Sandbox) -> usize {
    String::from_utf8_lossy(
        &std::fs::read(sandbox.path(&format!("exercises/{KATA}/src/lib.rs"))).unwrap(),
    )
    .lines()
    .count()
}
