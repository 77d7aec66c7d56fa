//! The offline room: `doctor` reports each check and fails when one does; `offline` writes its
//! cargo configuration once and `--undo` removes exactly it. Nothing here downloads.

mod util;

use util::Sandbox;

const CONFIG: &str = ".cargo/config.toml";

/// The sandbox's build lock, where cargo keeps it for the sandbox's target directory.
fn build_lock(sandbox: &Sandbox) -> std::fs::File {
    let output = cargo_as_the_checker_runs(sandbox)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .expect("cargo runs");
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("metadata");
    let target = metadata["target_directory"].as_str().expect("a target");
    let debug = std::path::Path::new(target).join("debug");
    std::fs::create_dir_all(&debug).unwrap();
    std::fs::File::create(debug.join(".cargo-lock")).unwrap()
}

/// Cargo in the folder and environment (the shared target directory) the checker gets.
fn cargo_as_the_checker_runs(sandbox: &Sandbox) -> std::process::Command {
    let checker = util::checker_command(sandbox.root());
    let mut cargo = std::process::Command::new(env!("CARGO"));
    cargo.current_dir(sandbox.root());
    for (key, value) in checker.get_envs() {
        match value {
            Some(value) => cargo.env(key, value),
            None => cargo.env_remove(key),
        };
    }
    cargo
}

#[test]
fn doctor_fails_and_names_the_holder_while_the_build_lock_is_held() {
    let sandbox = Sandbox::new();
    let lock = build_lock(&sandbox);
    lock.lock().unwrap();

    let run = sandbox.checker(&["doctor", "--no-build"]);

    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    for check in [
        "rust toolchain",
        "clippy and rustfmt",
        "build lock",
        "offline dependencies",
        "first build",
    ] {
        assert!(
            run.stdout.contains(check),
            "no `{check}` in:\n{}",
            run.stdout
        );
    }
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("build lock"))
        .unwrap();
    assert!(
        line.contains('✘') && line.contains(".cargo-lock is held"),
        "{line}"
    );
    // This test process holds it, and /proc says so.
    #[cfg(target_os = "linux")]
    assert!(
        line.contains(&format!("pid {}", std::process::id())),
        "{line}"
    );
    assert!(run.stdout.contains("fix:"), "{}", run.stdout);
    // Waiting for the lock would hang: the build is not even tried.
    assert!(run.stdout.contains("not checked: the build lock is held"));
    assert!(run.stdout.contains("Not ready"));
}

#[test]
fn doctor_fails_when_the_toolchain_is_older_than_the_workspace_needs() {
    let sandbox = Sandbox::new();
    let manifest = sandbox
        .read("Cargo.toml")
        .replace("rust-version = \"1.89\"", "rust-version = \"1.999\"");
    assert!(
        manifest.contains("1.999"),
        "the workspace declares rust-version 1.89"
    );
    sandbox.write("Cargo.toml", &manifest);
    // Held, so that only the checks are run and nothing is built.
    let lock = build_lock(&sandbox);
    lock.lock().unwrap();

    let run = sandbox.checker(&["doctor", "--no-build"]);

    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("rust toolchain"))
        .unwrap();
    assert!(
        line.contains('✘') && line.contains("1.999.0 or newer"),
        "{line}"
    );
    assert!(run.stdout.contains("rustup update"), "{}", run.stdout);
}

#[test]
fn undo_on_a_repository_never_prepared_changes_nothing() {
    let sandbox = Sandbox::new();
    let before = sandbox.read(CONFIG);

    let run = sandbox.checker(&["offline", "--undo"]);

    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("Nothing to undo"), "{}", run.stdout);
    assert_eq!(sandbox.read(CONFIG), before);
}

/// A workspace with no dependency at all, so `cargo vendor` has nothing to download and runs
/// without network; the katas are still there for the checker to open.
fn without_dependencies(sandbox: &Sandbox) {
    sandbox.write(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"tiny\"]\n",
    );
    sandbox.write(
        "tiny/Cargo.toml",
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    sandbox.write("tiny/src/lib.rs", "");
    sandbox.write(
        "Cargo.lock",
        "version = 4\n\n[[package]]\nname = \"tiny\"\nversion = \"0.1.0\"\n",
    );
}

#[test]
fn offline_writes_its_block_once_and_undo_removes_exactly_it() {
    let sandbox = Sandbox::new();
    without_dependencies(&sandbox);
    let original = sandbox.read(CONFIG);

    let first = sandbox.checker(&["offline"]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(
        first.stdout.contains("is now pointing cargo at vendor/"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("cargo kata doctor"),
        "{}",
        first.stdout
    );
    let prepared = sandbox.read(CONFIG);
    assert!(
        prepared.starts_with(&original),
        "the alias and the rest are kept"
    );
    assert!(sandbox.path("vendor").is_dir());

    let second = sandbox.checker(&["offline"]);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert!(
        second.stdout.contains("was already pointing"),
        "{}",
        second.stdout
    );
    assert_eq!(
        sandbox.read(CONFIG),
        prepared,
        "a second run changes nothing"
    );
    assert_eq!(prepared.matches("[source.crates-io]").count(), 1);

    let undo = sandbox.checker(&["offline", "--undo"]);
    assert_eq!(undo.code, 0, "{}{}", undo.stdout, undo.stderr);
    assert_eq!(sandbox.read(CONFIG), original);
    assert!(sandbox.path("vendor").is_dir(), "undo leaves vendor/ alone");
}

#[test]
fn offline_refuses_a_config_that_already_replaces_crates_io() {
    let sandbox = Sandbox::new();
    without_dependencies(&sandbox);
    let mirrored = format!(
        "{}\n[source.crates-io]\nreplace-with = \"mirror\"\n\n[source.mirror]\nregistry = \"sparse+https://mirror.invalid/\"\n",
        sandbox.read(CONFIG)
    );
    sandbox.write(CONFIG, &mirrored);

    let run = sandbox.checker(&["offline"]);

    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("[source]"), "{}", run.stderr);
    assert_eq!(sandbox.read(CONFIG), mirrored);
}
