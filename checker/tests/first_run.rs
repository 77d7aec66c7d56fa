//! `cargo kata` as a learner types it: the first run builds the checker in view, with cargo's own
//! progress, and later runs start it at once without a word.

mod util;

use std::process::Command;
use util::Sandbox;

fn cargo_kata(sandbox: &Sandbox, args: &[&str]) -> util::Run {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .arg("kata")
        .args(args)
        .current_dir(sandbox.root())
        .env("CARGO_TARGET_DIR", util::shared_target())
        .env("NO_COLOR", "1")
        .output()
        .expect("cargo runs");
    util::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn the_checker_is_built_in_view_once_and_then_started_quietly() {
    let sandbox = Sandbox::new();
    // A new copy of the repository: the checker is prepared for it, with cargo's progress.
    let first = cargo_kata(&sandbox, &["list"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stderr.starts_with("Preparing the checker") && first.stderr.contains("Finished"),
        "the first run says what it does before cargo's own lines: {}",
        first.stderr
    );
    assert!(first.stdout.contains("01-lazy-futures"));

    let second = cargo_kata(&sandbox, &["list"]);
    assert_eq!(second.code, 0);
    assert_eq!(second.stderr, "", "nothing to build, nothing said");

    // An update to the checker's own code is built again, in view.
    let cli = "checker/src/cli.rs";
    sandbox.write(cli, &format!("{}\n// updated\n", sandbox.read(cli)));
    let third = cargo_kata(&sandbox, &["list"]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert!(
        third.stderr.contains("Preparing the checker")
            && third.stderr.contains("Compiling checker"),
        "{}",
        third.stderr
    );
}
