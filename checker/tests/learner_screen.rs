//! What a learner sees: lines that fit the terminal, a watch loop that never shows a stale
//! result, news that stays on screen, and exit codes that tell the truth through a pipe.

mod util;

use util::{Sandbox, TerminalSession};

const LAZY: &str = "01-lazy-futures";

/// The screen's text without colour codes; a carriage return that does not end a line starts it
/// over, as the terminal would (the build's status line overwrites itself that way).
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' => out.truncate(out.rfind('\n').map_or(0, |i| i + 1)),
            c => out.push(c),
        }
    }
    out
}

fn assert_fits(text: &str, columns: usize) {
    for line in plain(text).lines() {
        assert!(
            line.chars().count() <= columns,
            "a line wider than {columns} columns:\n{line}\n\nin:\n{}",
            plain(text)
        );
    }
}

#[test]
fn list_fits_an_80_column_terminal() {
    let sandbox = Sandbox::new();
    let session = sandbox.terminal_session_sized(&["list"], 80);
    let run = session.finish();
    assert_eq!(run.code, 0);
    assert!(plain(&run.stdout).contains("A channel closes when every Sender is gone"));
    assert_fits(&run.stdout, 80);
}

#[test]
fn the_watch_footer_breaks_between_keys_on_a_narrow_terminal() {
    let sandbox = Sandbox::new();
    let mut session = sandbox.terminal_session_sized(&["watch", LAZY], 50);
    session.wait_for("[q] quit", 1);
    session.type_keys("q");
    let run = session.finish();
    // The checker's own lines below the results; the compiler's diagnostics keep their layout.
    let text = plain(&run.stdout);
    let footer = text.rsplit(" tests passed · ").next().unwrap_or_default();
    assert!(footer.contains("[q] quit"), "{footer}");
    assert_fits(footer, 50);
}

#[test]
fn quitting_says_where_the_learner_is() {
    let sandbox = Sandbox::new();
    let run = sandbox.checker_in_terminal(&["watch", LAZY], "q");
    assert_eq!(run.code, 0);
    let text = plain(&run.stdout);
    assert!(
        text.contains("katas done; next up: 01-lazy-futures"),
        "{text}"
    );
}

#[test]
fn a_kata_skipped_with_n_shows_as_skipped() {
    let sandbox = Sandbox::new();
    let mut session = sandbox.terminal_session(&["watch", LAZY]);
    session.wait_for("[n] next kata", 1);
    session.type_keys("n");
    session.wait_for("[n] next kata", 2);
    session.type_keys("q");
    session.finish();
    let list = sandbox.checker(&["list"]);
    let row = list
        .stdout
        .lines()
        .find(|l| l.contains(LAZY))
        .unwrap_or_default()
        .to_string();
    assert!(row.contains("skipped"), "{row}");
}

#[test]
fn arrow_keys_and_home_are_not_commands() {
    let sandbox = Sandbox::new();
    let mut session = sandbox.terminal_session(&["watch", LAZY]);
    session.wait_for("[n] next kata", 1);
    // Up and Home (`ESC [ H`): read byte by byte, an Esc (quit) and an `h` (hint).
    session.type_keys("\x1b[A\x1b[H");
    session.type_keys("n");
    session.wait_for("[n] next kata", 2);
    session.type_keys("q");
    let text = plain(&session.finish().stdout);
    assert!(!text.contains("Hint 1 of"), "{text}");
}

#[test]
fn the_news_that_a_kata_passed_stays_on_the_next_screen() {
    let sandbox = Sandbox::new();
    sandbox.solve(LAZY);
    let mut session = sandbox.terminal_session(&["watch", LAZY]);
    session.wait_for("[q] quit", 1);
    session.type_keys("q");
    let run = session.finish();
    // Everything after the last clear is what stays on screen.
    let last_screen = run.stdout.rsplit("\x1b[2J").next().unwrap_or_default();
    assert!(
        plain(last_screen).contains("01-lazy-futures passed! On to"),
        "{}",
        plain(last_screen)
    );
}

#[test]
fn a_failing_run_piped_into_head_still_fails() {
    let sandbox = Sandbox::new();
    let checker = env!("CARGO_BIN_EXE_checker");
    let status = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{checker} run {LAZY} | head -1 >/dev/null; exit ${{PIPESTATUS[0]}}"
        ))
        .current_dir(sandbox.root())
        .env("CARGO_TARGET_DIR", util::shared_target())
        .status()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "a closed pipe does not turn a failure into success"
    );
}

/// How many runs the session has shown: each ends with its "N of M tests passed" line.
fn runs(session: &TerminalSession) -> usize {
    plain(&session.output()).matches(" tests passed · ").count()
}

#[test]
fn a_save_while_the_tests_run_runs_them_again() {
    let sandbox = Sandbox::new();
    // The test announces it is running, then takes three seconds: time to save during it.
    let tests = r#"
#[test]
fn the_test() {
    std::fs::write(std::env::var("FIXTURE_MARKER").unwrap(), "running").unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(fixture::value(), 2, "still the old value");
}
"#;
    let meta = "timeout_secs = 20\n[tests]\nthe_test = 1\n[untouched]\ncompiles = true\nfailing = [\"the_test\"]\n";
    let kata = sandbox.add_fixture_kata("pub fn value() -> u32 { 1 }\n", tests, meta);
    let marker = sandbox.path("marker");
    std::env::set_var("FIXTURE_MARKER", &marker);
    let mut session = sandbox.terminal_session(&["watch", kata]);
    util::eventually("the first run's test to start", || marker.exists());
    std::fs::remove_file(&marker).unwrap();
    session.wait_for(" tests passed · ", 1);
    // The second run: save again while its test is under way.
    sandbox.write(
        &format!("exercises/{kata}/src/lib.rs"),
        "pub fn value() -> u32 { 1 }\n// touched\n",
    );
    util::eventually("the second run's test to start", || marker.exists());
    sandbox.write(
        &format!("exercises/{kata}/src/lib.rs"),
        "pub fn value() -> u32 { 2 }\n",
    );
    session.wait_for(&format!("{kata} passed! On to"), 1);
    session.type_keys("q");
    session.finish();
}

#[test]
fn a_file_the_code_writes_in_its_folder_does_not_start_another_run() {
    let sandbox = Sandbox::new();
    // Tests run in the kata's folder: a relative path lands there.
    let tests = r#"
#[test]
fn the_test() {
    std::fs::write("out.log", "a line of the code's own log").unwrap();
    assert_eq!(fixture::value(), 2, "still the old value");
}
"#;
    let meta = "[tests]\nthe_test = 1\n[untouched]\ncompiles = true\nfailing = [\"the_test\"]\n";
    let kata = sandbox.add_fixture_kata("pub fn value() -> u32 { 1 }\n", tests, meta);
    let mut session = sandbox.terminal_session(&["watch", kata]);
    session.wait_for(" tests passed · ", 1);
    assert!(sandbox.path(&format!("exercises/{kata}/out.log")).exists());
    // Well past the watcher's settling time: a run it started would have begun by now.
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(runs(&session), 1, "{}", plain(&session.output()));
    session.type_keys("q");
    session.finish();
}

#[test]
fn resets_from_another_shell_each_run_the_tests_again() {
    let sandbox = Sandbox::new();
    sandbox.checker(&["list"]);
    let lib = format!("exercises/{LAZY}/src/lib.rs");
    let mine = format!("{}\n// my attempt\n", sandbox.read(&lib));
    let mut session = sandbox.terminal_session(&["watch", LAZY]);
    session.wait_for("[q] quit", 1);
    sandbox.write(&lib, &mine);
    session.wait_for("[q] quit", 2);
    let commands: [&[&str]; 5] = [
        &["reset", LAZY],
        &["reset", LAZY, "--undo"],
        &["reset", LAZY],
        &["reset", LAZY, "--undo"],
        &["reset", LAZY],
    ];
    for (done, command) in commands.iter().enumerate() {
        let before = runs(&session);
        let result = sandbox.checker(command);
        assert_eq!(result.code, 0, "{command:?}: {}", result.stderr);
        util::eventually(&format!("a run after `{}`", command.join(" ")), || {
            runs(&session) > before
        });
        assert!(runs(&session) >= done + 3);
    }
    session.type_keys("q");
    session.finish();
}
