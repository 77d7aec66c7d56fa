//! A class built to cheat, graded through the real binary: forged libtest transcripts,
//! duplicate test names, the untouched handout, a formula for a name, characters XML cannot
//! hold, an added file, links to the reference solution, files nested deeper than a parser goes,
//! identical sources that time out once, and submissions folders that are not a class. No forged point goes unflagged, nobody's grade moves anybody else's, and every output
//! stays well-formed.

mod util;

use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use util::{student, Sandbox};

/// A kata with no dependencies, so the class builds in seconds. `add` is broken; `double` is
/// right from the start, so `doubles` guards against regressions and earns nothing.
const HANDOUT: &str = "//! Arithmetic.\n\
pub fn add(a: u32, b: u32) -> u32 {\n    a.wrapping_sub(b) // look here\n}\n\n\
pub fn double(x: u32) -> u32 {\n    x * 2\n}\n";

const SOLVED: &str = "//! Arithmetic.\n\
pub fn add(a: u32, b: u32) -> u32 {\n    a + b\n}\n\n\
pub fn double(x: u32) -> u32 {\n    x * 2\n}\n";

const TESTS: &str =
    "#[test]\nfn adds() {\n    assert_eq!(fixture::add(2, 3), 5, \"2 + 3\");\n}\n\n\
#[test]\nfn adds_large() {\n    assert_eq!(fixture::add(10, 20), 30, \"10 + 20\");\n}\n\n\
#[test]\nfn doubles() {\n    assert_eq!(fixture::double(4), 8);\n}\n";

const META: &str = "[tests]\nadds = 2\nadds_large = 1\ndoubles = 1\n\n\
[untouched]\ncompiles = true\nfailing = [\"adds\", \"adds_large\"]\n";

/// Prints libtest's lines for the running test and exits before the harness can say otherwise.
/// `filtered` is its guess of libtest's "filtered out" count.
fn forger(filtered: usize) -> String {
    format!(
        "//! Arithmetic.\n\
use std::io::Write;\n\n\
pub fn add(a: u32, b: u32) -> u32 {{\n\
    let name = std::env::args().skip_while(|a| a != \"--exact\").nth(1).unwrap_or_default();\n\
    let mut out = std::io::stdout().lock();\n\
    let _ = write!(out, \"test {{name}} ... ok\\n\\ntest result: ok. 1 passed; 0 failed; 0 ignored; \
0 measured; {filtered} filtered out; finished in 0.00s\\n\\n\");\n\
    let _ = out.flush();\n\
    std::process::exit(0);\n\
    #[allow(unreachable_code)]\n\
    a.wrapping_sub(b)\n\
}}\n\n\
pub fn double(x: u32) -> u32 {{\n    x * 2\n}}\n"
    )
}

/// Right code, and a constructor that lists `adds` a second time when the binary is asked for
/// its tests, hoping it runs and counts twice.
const LISTS_TWICE: &str = "//! Arithmetic.\n\
#[used]\n#[link_section = \".init_array\"]\nstatic LIST_TWICE: extern \"C\" fn() = list_twice;\n\n\
extern \"C\" fn list_twice() {\n\
    use std::io::Write;\n\
    if std::env::args().any(|a| a == \"--list\") {\n\
        let _ = std::io::stdout().write_all(b\"adds: test\\n\");\n\
    }\n\
}\n\n\
pub fn add(a: u32, b: u32) -> u32 {\n    a + b\n}\n\n\
pub fn double(x: u32) -> u32 {\n    x * 2\n}\n";

/// Lays out `student`'s copy of the fixture kata with `lib` as its lib.rs.
fn hand_in(class: &Path, student: &str, lib: &str) -> std::path::PathBuf {
    let kata = class.join(student).join("exercises/99-fixture");
    std::fs::create_dir_all(kata.join("src")).unwrap();
    std::fs::create_dir_all(kata.join("tests")).unwrap();
    std::fs::write(kata.join("src/lib.rs"), lib).unwrap();
    std::fs::write(kata.join("tests/fixture.rs"), TESTS).unwrap();
    kata
}

fn fixture_sandbox() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.add_fixture_kata(HANDOUT, TESTS, META);
    // The fixture is a new workspace member: let cargo record it in Cargo.lock now, as an
    // instructor's repository would have, so that what grading leaves unchanged can be compared.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let locked = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(sandbox.root())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(locked.success());
    sandbox
}

fn link_folder(target: &Path, link: &Path) {
    #[cfg(unix)]
    std::os::unix::fs::symlink(target, link).unwrap();
    #[cfg(windows)]
    std::os::windows::fs::symlink_dir(target, link).unwrap();
}

/// Grades `class` on the fixture kata with `extra` arguments; it must succeed. Returns the run
/// (for its output) and results.json.
fn grade_class(sandbox: &Sandbox, class: &Path, extra: &[&str]) -> (util::Run, Value) {
    let out = sandbox.path("grades");
    let mut args = vec!["grade", class.to_str().unwrap(), "--kata", "99"];
    args.extend(extra);
    args.extend(["--out", out.to_str().unwrap()]);
    let run = sandbox.checker(&args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let results =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    (run, results)
}

fn tests_of<'a>(results: &'a Value, name: &str) -> Vec<&'a Value> {
    results["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["student"] == name)
        .collect()
}

fn concerns(results: &Value, name: &str) -> Vec<String> {
    student(results, name)["review"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["concern"].as_str().unwrap().to_string())
        .collect()
}

const FORMULA: &str = "=HYPERLINK(\"127.0.0.1\",\"ok\")";

#[test]
fn a_hostile_class_gets_no_unflagged_points_and_harms_nobody() {
    let sandbox = fixture_sandbox();
    let class = tempfile::tempdir().unwrap();
    let class = class.path();
    hand_in(class, "honest", SOLVED);
    hand_in(class, "forger", &forger(0));
    // This one knows the kata has three tests: its transcript is libtest's to the letter.
    hand_in(class, "careful-forger", &forger(2));
    hand_in(class, "twice", LISTS_TWICE);
    hand_in(class, "handout", HANDOUT);
    hand_in(class, FORMULA, SOLVED);
    hand_in(
        class,
        "panicker",
        &SOLVED.replace("a + b", "panic!(\"broken \\u{FFFF} here\\u{1}\")"),
    );
    let added = hand_in(class, "adder", &format!("{SOLVED}\nmod extra;\n"));
    std::fs::write(added.join("src/extra.rs"), "pub fn more() {}\n").unwrap();
    // Links to the reference solution where a folder of the student's should be: their
    // `exercises/`, their kata folder, or a kata folder handed in on its own.
    // (Outside the repository: a `solutions/99-fixture` without a manifest would break the
    // workspace, and where the link leads does not matter to the refusal.)
    let answers = tempfile::tempdir().unwrap();
    let solutions = answers.path().to_path_buf();
    std::fs::create_dir_all(solutions.join("99-fixture/src")).unwrap();
    std::fs::write(solutions.join("99-fixture/src/lib.rs"), SOLVED).unwrap();
    let linked = [
        ("linked-exercises", "exercises", solutions.clone()),
        (
            "linked-kata",
            "exercises/99-fixture",
            solutions.join("99-fixture"),
        ),
        ("linked-alone", "99-fixture", solutions.join("99-fixture")),
    ];
    for (name, link, target) in &linked {
        let link = class.join(name).join(link);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        link_folder(target, &link);
    }
    // Files nested deeper than a parser's stack goes, left out of the crate (so grading builds
    // without them) but in src/, where the review reads them: brackets, and references, which
    // nest without any.
    let nested = hand_in(class, "nested", SOLVED);
    let depth = 100_000;
    let parens = format!(
        "pub fn deep() -> u32 {{ {}1{} }}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    std::fs::write(nested.join("src/deep.rs"), parens).unwrap();
    let nested = hand_in(class, "nested-refs", SOLVED);
    let refs = format!("pub type Deep = {}u8;\n", "&'static ".repeat(depth / 10));
    std::fs::write(nested.join("src/deep.rs"), refs).unwrap();
    // Identical sources whose tests time out for the first student only (as a loaded machine
    // might make them): the second runs their own tests, and does not inherit the timeout.
    let slow = SOLVED.replace(
        "a + b",
        "if std::env::var(\"CARGO_MANIFEST_DIR\").unwrap_or_default().contains(\"s-slow-first\") {\n\
         loop {\n            std::thread::sleep(std::time::Duration::from_secs(1));\n        }\n    }\n    a + b",
    );
    hand_in(class, "slow-first", &slow);
    hand_in(class, "slow-second", &slow);
    let before = tree_digest(sandbox.root());

    let out = sandbox.path("grades");
    let started = Instant::now();
    let run = sandbox.checker(&[
        "grade",
        class.to_str().unwrap(),
        "--kata",
        "99",
        "--out",
        out.to_str().unwrap(),
    ]);
    let took = started.elapsed();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        took < Duration::from_secs(180),
        "grading fifteen students of one small kata took {took:?}"
    );
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let score = |name: &str| student(&results, name)["score"].as_u64().unwrap();

    // Nobody's grade depends on anybody else's.
    assert_eq!(score("honest"), 3, "{}", run.stdout);
    assert_eq!(student(&results, "honest")["max_score"], 3);
    assert!(concerns(&results, "honest").is_empty());
    assert_eq!(score(FORMULA), 3);
    assert_eq!(score("adder"), 3);

    // The untouched handout earns nothing: `doubles` already passed on it.
    assert_eq!(score("handout"), 0);
    assert!(concerns(&results, "handout").is_empty());
    let guard = tests_of(&results, "handout")
        .into_iter()
        .find(|t| t["test"] == "doubles")
        .unwrap();
    assert_eq!(
        (guard["status"].as_str(), guard["role"].as_str()),
        (Some("passed"), Some("guards"))
    );
    assert_eq!(
        (guard["score"].as_u64(), guard["max_score"].as_u64()),
        (Some(0), Some(0))
    );

    // A link is refused, never followed: the solution it points at earns nothing.
    for (name, _, _) in &linked {
        assert_eq!(score(name), 0, "{name}: {}", run.stdout);
        let problems = student(&results, name)["problems"].to_string();
        assert!(
            problems.contains("symbolic link: refused"),
            "{name}: {problems}"
        );
    }

    // A timeout is never handed on to an identical submission.
    assert_eq!(score("slow-first"), 0, "{}", run.stdout);
    assert!(tests_of(&results, "slow-first")
        .iter()
        .any(|t| t["status"] == "timed-out"));
    assert_eq!(score("slow-second"), 3, "{}", run.stdout);

    // Nesting no parser could follow is flagged, and costs the run nothing.
    for name in ["nested", "nested-refs"] {
        assert_eq!(score(name), 3, "{name}: {}", run.stdout);
        let review = student(&results, name)["review"].to_string();
        assert!(review.contains("unreadable"), "{name}: {review}");
    }
    for name in ["nested", "nested-refs"] {
        let review = student(&results, name)["review"].to_string();
        assert!(review.contains("could not read these sources"), "{review}");
    }

    // Forged passes: whatever they scored, no point is unflagged.
    for forger in ["forger", "careful-forger"] {
        let found = concerns(&results, forger);
        for concern in ["exit", "raw-output", "environment"] {
            assert!(
                found.iter().any(|c| c == concern),
                "{forger}'s review lacks {concern}: {found:?}"
            );
        }
    }
    let forged: Vec<&Value> = tests_of(&results, "forger")
        .into_iter()
        .filter(|t| t["test"] != "doubles")
        .collect();
    assert!(
        forged
            .iter()
            .all(|t| t["status"] != "passed" || t["suspicious"].is_string()),
        "a forged pass with a wrong count is marked suspicious: {forged:#?}"
    );
    assert!(forged.iter().any(|t| t["suspicious"].is_string()));
    assert!(
        run.stdout.contains("suspicious transcript"),
        "{}",
        run.stdout
    );

    // A test listed twice counts once.
    assert_eq!(score("twice"), 3, "adds counts once");
    assert_eq!(
        tests_of(&results, "twice").len(),
        3,
        "one grade per manifest test"
    );
    assert!(
        tests_of(&results, "twice").iter().all(|t| t["suspicious"]
            .as_str()
            .unwrap_or("")
            .contains("lists 4 tests")),
        "the listing said four tests, libtest's summary three: {:#?}",
        tests_of(&results, "twice")
    );
    let found = concerns(&results, "twice");
    for concern in ["link-section", "extern", "raw-output"] {
        assert!(found.iter().any(|c| c == concern), "{concern}: {found:?}");
    }

    // An added file is flagged, with where it is.
    let added_review = student(&results, "adder")["review"].to_string();
    assert!(
        added_review.contains("added-file") && added_review.contains("src/extra.rs"),
        "{added_review}"
    );

    // Student text cannot break the outputs: the JUnit file parses, the formula is text.
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    let parsed = roxmltree::Document::parse(&junit);
    assert!(parsed.is_ok(), "junit.xml is not XML: {parsed:?}");
    assert_eq!(score("panicker"), 0);
    let gradebook = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    assert!(
        gradebook.contains("\n\"'=HYPERLINK(\"\"127.0.0.1\"\",\"\"ok\"\")\",3,3,3,"),
        "{gradebook}"
    );
    assert!(
        !gradebook.contains("\n=") && !gradebook.contains(",="),
        "{gradebook}"
    );

    // Grading changed nothing of the instructor's.
    assert_eq!(tree_digest(sandbox.root()), before);
}

#[test]
fn gradescope_shows_hidden_tests_as_asked_and_problems_to_the_student() {
    let sandbox = fixture_sandbox();
    let hidden = tempfile::tempdir().unwrap();
    let hidden_kata = hidden.path().join("99-fixture");
    std::fs::create_dir_all(&hidden_kata).unwrap();
    std::fs::write(
        hidden_kata.join("secret.rs"),
        "#[test]\nfn adds_one() {\n    assert_eq!(fixture::add(1, 1), 2);\n}\n",
    )
    .unwrap();
    std::fs::write(hidden_kata.join("hidden.toml"), "[tests]\nadds_one = 2\n").unwrap();
    let submission = tempfile::tempdir().unwrap();
    let kata = hand_in(submission.path(), "ada", &format!("{SOLVED}\nmod extra;\n"));
    std::fs::write(kata.join("src/extra.rs"), "pub fn more() {}\n").unwrap();
    std::fs::write(kata.join("tests/fixture.rs"), "// mine now\n").unwrap();

    for (flag, visibility) in [
        (None, "hidden"),
        (Some("after_published"), "after_published"),
    ] {
        let results = sandbox.path("gradescope.json");
        let classroom = sandbox.path("classroom.json");
        let mut args: Vec<String> = vec![
            "grade".into(),
            submission.path().join("ada").to_str().unwrap().to_string(),
            "--single".into(),
            "--kata".into(),
            "99".into(),
            "--hidden".into(),
            hidden.path().to_str().unwrap().into(),
            "--out".into(),
            sandbox.path("grades").to_str().unwrap().into(),
            "--gradescope".into(),
            results.to_str().unwrap().into(),
            "--classroom".into(),
            classroom.to_str().unwrap().into(),
        ];
        if let Some(flag) = flag {
            args.extend(["--hidden-visibility".into(), flag.into()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = sandbox.checker(&args);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        let gradescope: Value =
            serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
        assert_eq!(
            gradescope["score"], 5,
            "3 released + 2 hidden: {}",
            run.stdout
        );
        let tests = gradescope["tests"].as_array().unwrap();
        let secret = tests
            .iter()
            .find(|t| t["name"].as_str().unwrap().contains("adds_one"))
            .unwrap();
        assert_eq!(secret["visibility"], visibility);
        assert!(tests
            .iter()
            .filter(|t| !t["name"].as_str().unwrap().contains("adds_one"))
            .all(|t| t.get("visibility").is_none()));
        let output = gradescope["output"].as_str().unwrap();
        assert!(
            output.contains("src/extra.rs") && output.contains("tests/fixture.rs (changed)"),
            "{output}"
        );

        // GitHub Classroom's reporter: points that add up to the grade.
        let classroom: Value =
            serde_json::from_str(&std::fs::read_to_string(&classroom).unwrap()).unwrap();
        assert_eq!(classroom["max_score"], 5);
        let points: i64 = classroom["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["score"].as_i64().unwrap())
            .sum();
        assert_eq!(points, 5);
        assert_eq!(classroom["status"], "pass");
    }
}

#[test]
fn a_submissions_folder_that_is_not_a_class_is_an_error() {
    let sandbox = fixture_sandbox();
    let empty = tempfile::tempdir().unwrap();
    let run = sandbox.checker(&["grade", empty.path().to_str().unwrap(), "--kata", "99"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("no student folders"), "{}", run.stderr);
    assert!(!run.stdout.contains("grading 0"), "{}", run.stdout);

    let class = tempfile::tempdir().unwrap();
    hand_in(class.path(), "ada", SOLVED);
    std::fs::write(class.path().join("notes.txt"), "grade these").unwrap();
    let run = sandbox.checker(&["grade", class.path().to_str().unwrap(), "--kata", "99"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("notes.txt is a file, not a student's folder"),
        "{}",
        run.stderr
    );
}

#[test]
fn breaking_a_test_that_passed_on_the_handout_costs_its_points() {
    let sandbox = fixture_sandbox();
    let class = tempfile::tempdir().unwrap();
    // Fixed add, broke double: 3 earned, 1 lost.
    hand_in(class.path(), "regressed", &SOLVED.replace("x * 2", "x * 3"));
    // Broke double and fixed nothing: never below zero.
    hand_in(class.path(), "worse", &HANDOUT.replace("x * 2", "x * 3"));
    let (_, results) = grade_class(&sandbox, class.path(), &[]);
    assert_eq!(student(&results, "regressed")["score"], 2);
    assert_eq!(student(&results, "worse")["score"], 0);
    let gradebook = std::fs::read_to_string(sandbox.path("grades/gradebook.csv")).unwrap();
    assert!(gradebook.contains("\nregressed,2,3,2,,\n"), "{gradebook}");
}

#[test]
fn what_the_student_reads_never_names_a_hidden_test() {
    let sandbox = fixture_sandbox();
    let hidden = tempfile::tempdir().unwrap();
    let hidden_kata = hidden.path().join("99-fixture");
    std::fs::create_dir_all(&hidden_kata).unwrap();
    std::fs::write(
        hidden_kata.join("secret.rs"),
        "#[test]\nfn adds_the_secret_way() {\n    assert_eq!(fixture::add(1, 1), 2);\n}\n",
    )
    .unwrap();
    std::fs::write(
        hidden_kata.join("hidden.toml"),
        "[tests]\nadds_the_secret_way = 2\n",
    )
    .unwrap();
    // A forger guessing the released binary's three tests: in the hidden test's binary, of one
    // test, its transcript is suspicious, which the review notes name.
    let submission = tempfile::tempdir().unwrap();
    hand_in(submission.path(), "ada", &forger(2));
    let out = sandbox.path("grades");
    let gradescope = sandbox.path("gradescope.json");
    let classroom = sandbox.path("classroom.json");
    let run = sandbox.checker(&[
        "grade",
        submission.path().join("ada").to_str().unwrap(),
        "--single",
        "--kata",
        "99",
        "--hidden",
        hidden.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--gradescope",
        gradescope.to_str().unwrap(),
        "--classroom",
        classroom.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let secret = tests_of(&results, "ada")
        .into_iter()
        .find(|t| t["test"] == "adds_the_secret_way")
        .unwrap();
    assert!(secret["suspicious"].is_string(), "{secret}");
    // The instructor's gradebook names it...
    let gradebook = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    assert!(gradebook.contains("adds_the_secret_way"), "{gradebook}");
    // ...what the student reads does not.
    let gradescope: Value =
        serde_json::from_str(&std::fs::read_to_string(&gradescope).unwrap()).unwrap();
    let output = gradescope["output"].as_str().unwrap();
    assert!(!output.contains("secret"), "{output}");
    let classroom = std::fs::read_to_string(&classroom).unwrap();
    assert!(!classroom.contains("secret"), "{classroom}");
    let classroom: Value = serde_json::from_str(&classroom).unwrap();
    let points: i64 = classroom["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["score"].as_i64().unwrap())
        .sum();
    assert_eq!(Some(points), gradescope["score"].as_i64());
}

#[test]
fn a_hidden_test_that_passes_on_the_handout_earns_nothing() {
    let sandbox = fixture_sandbox();
    let hidden = tempfile::tempdir().unwrap();
    let hidden_kata = hidden.path().join("99-fixture");
    std::fs::create_dir_all(&hidden_kata).unwrap();
    // `adds_one` fails on the handout (add is broken); `doubles_five` passes on it.
    std::fs::write(
        hidden_kata.join("secret.rs"),
        "#[test]\nfn adds_one() {\n    assert_eq!(fixture::add(1, 1), 2);\n}\n\n\
         #[test]\nfn doubles_five() {\n    assert_eq!(fixture::double(5), 10);\n}\n",
    )
    .unwrap();
    std::fs::write(
        hidden_kata.join("hidden.toml"),
        "[tests]\nadds_one = 2\ndoubles_five = 1\n",
    )
    .unwrap();
    let class = tempfile::tempdir().unwrap();
    hand_in(class.path(), "handout", HANDOUT);
    hand_in(class.path(), "honest", SOLVED);
    hand_in(class.path(), "regressed", &SOLVED.replace("x * 2", "x * 3"));
    let (run, results) = grade_class(
        &sandbox,
        class.path(),
        &["--hidden", hidden.path().to_str().unwrap()],
    );
    let score = |name: &str| student(&results, name)["score"].as_u64().unwrap();
    assert_eq!(
        score("handout"),
        0,
        "the untouched handout scores 0: {}",
        run.stdout
    );
    assert_eq!(score("honest"), 5, "3 released + 2 hidden: {}", run.stdout);
    assert_eq!(student(&results, "honest")["max_score"], 5);
    let role = |name: &str, test: &str| {
        tests_of(&results, name)
            .into_iter()
            .find(|t| t["test"] == test)
            .unwrap()["role"]
            .clone()
    };
    assert_eq!(role("honest", "doubles_five"), "guards");
    assert_eq!(role("honest", "adds_one"), "earns");
    // Breaking the hidden guard costs its point, as breaking a released one does.
    assert_eq!(score("regressed"), 3, "{}", run.stdout);
}

#[test]
fn a_build_that_never_ends_costs_only_its_student() {
    let sandbox = fixture_sandbox();
    let class = tempfile::tempdir().unwrap();
    // A constant the compiler evaluates for ever, with the lint that would stop it turned off.
    let spinner = format!(
        "#![allow(long_running_const_eval)]\n{SOLVED}\n\
         pub const SPIN: u64 = {{ let mut i = 1u64; while i != 0 {{ i = i.wrapping_add(1); }} i }};\n"
    );
    hand_in(class.path(), "spinner", &spinner);
    hand_in(class.path(), "zoe", SOLVED);
    let (_, results) = grade_class(&sandbox, class.path(), &["--build-time-limit", "10"]);
    assert_eq!(student(&results, "zoe")["score"], 3);
    assert_eq!(student(&results, "spinner")["score"], 0);
    for test in tests_of(&results, "spinner") {
        assert_eq!(test["status"], "did-not-compile", "{test}");
        let message = test["message"].as_str().unwrap_or_default();
        assert!(message.contains("took longer than 10s"), "{test}");
    }
}

/// Every file under the instructor's repository (build output and grades aside), with a
/// digest of its contents.
fn tree_digest(root: &Path) -> Vec<(String, u64)> {
    use std::hash::{Hash, Hasher};
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if ["target", "grades", ".kata"].contains(&relative.as_str()) {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                pending.push(path);
            } else {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(&path).unwrap_or_default().hash(&mut hasher);
                files.push((relative, hasher.finish()));
            }
        }
    }
    files.sort();
    files
}
