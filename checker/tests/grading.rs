//! Grading a made-up class through the real binary: each student gets exactly the grade their
//! code deserves, whatever it does to the tests or the grader.

mod util;

use serde_json::Value;
use std::path::Path;
use util::{student, Sandbox};

const LAZY: &str = "01-lazy-futures";
const QUEUE: &str = "09-bounded-channels";

/// A student's copy of a kata: the released files, then `change` applied to its lib.rs.
fn hand_in(sandbox: &Sandbox, class: &Path, student: &str, kata: &str, lib: &str) {
    let kata_dir = class.join(student).join("exercises").join(kata);
    for sub in ["src", "tests"] {
        let from = sandbox.path(&format!("exercises/{kata}/{sub}"));
        std::fs::create_dir_all(kata_dir.join(sub)).unwrap();
        for file in std::fs::read_dir(from).unwrap() {
            let file = file.unwrap();
            std::fs::copy(file.path(), kata_dir.join(sub).join(file.file_name())).unwrap();
        }
    }
    std::fs::copy(
        sandbox.path(&format!("exercises/{kata}/Cargo.toml")),
        kata_dir.join("Cargo.toml"),
    )
    .unwrap();
    std::fs::write(kata_dir.join("src/lib.rs"), lib).unwrap();
}

fn grades(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
}

fn statuses(results: &Value, name: &str, kata: &str) -> Vec<String> {
    let mut found: Vec<String> = results["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["student"] == name && t["kata"] == kata)
        .map(|t| t["status"].as_str().unwrap().to_string())
        .collect();
    found.sort();
    found
}

#[test]
fn each_student_gets_the_grade_their_code_deserves() {
    let sandbox = Sandbox::new();
    let class = tempfile::tempdir().unwrap();
    let class = class.path();
    let solved = |kata: &str| sandbox.read(&format!("solutions/{kata}/src/lib.rs"));
    let broken = sandbox.read(&format!("exercises/{LAZY}/src/lib.rs"));
    let sign_up = "pub async fn sign_up(&self, email: &str) -> UserId {";

    // ada: everything right.
    hand_in(&sandbox, class, "ada", LAZY, &solved(LAZY));
    hand_in(&sandbox, class, "ada", QUEUE, &solved(QUEUE));
    // tess: did not fix the code, but replaced the tests with ones that always pass.
    hand_in(&sandbox, class, "tess", LAZY, &broken);
    let fake = "#[test] fn sign_up_sends_the_welcome_email() {}\n#[test] fn sign_up_records_an_audit_entry() {}\n#[test] fn sign_up_creates_each_account() {}\n";
    std::fs::write(
        class.join("tess/exercises/01-lazy-futures/tests/lazy_futures.rs"),
        fake,
    )
    .unwrap();
    hand_in(&sandbox, class, "tess", QUEUE, &solved(QUEUE));
    // hank: spins forever inside sign_up.
    hand_in(
        &sandbox,
        class,
        "hank",
        LAZY,
        &solved(LAZY).replace(
            sign_up,
            &format!("{sign_up}\n        loop {{ std::hint::spin_loop(); }}"),
        ),
    );
    // nico: does not compile.
    hand_in(&sandbox, class, "nico", LAZY, "pub fn broken( {}\n");
    // eve: calls std::process::exit(0) to end the tests "successfully".
    hand_in(
        &sandbox,
        class,
        "eve",
        LAZY,
        &solved(LAZY).replace(
            sign_up,
            &format!("{sign_up}\n        std::process::exit(0);"),
        ),
    );
    // flo: floods the output and leaves the bug in.
    hand_in(
        &sandbox,
        class,
        "flo",
        LAZY,
        &broken.replace(
            sign_up,
            &format!("{sign_up}\n        for i in 0..1_000_000 {{ println!(\"noise {{i}}\"); }}"),
        ),
    );
    // max: eats memory until the allocator gives up.
    let eat = "let mut heap = Vec::new(); loop { heap.push(vec![1u8; 1 << 20]); }";
    hand_in(
        &sandbox,
        class,
        "max",
        LAZY,
        &solved(LAZY).replace(sign_up, &format!("{sign_up}\n        {eat}")),
    );
    // mia: solved the first kata, never handed in the second.
    hand_in(&sandbox, class, "mia", LAZY, &solved(LAZY));
    // lou: right code, and a constructor that sleeps whenever a test binary lists its tests:
    // listing runs the submission's code, so it is paid from the submission's time.
    let sleepy = "\n#[used]\n#[link_section = \".init_array\"]\n\
        static NAP: extern \"C\" fn() = nap;\n\
        extern \"C\" fn nap() { if std::env::args().any(|a| a == \"--list\") { \
        std::thread::sleep(std::time::Duration::from_secs(600)); } }\n";
    hand_in(
        &sandbox,
        class,
        "lou",
        LAZY,
        &format!("{}{sleepy}", solved(LAZY)),
    );
    hand_in(
        &sandbox,
        class,
        "lou",
        QUEUE,
        &format!("{}{sleepy}", solved(QUEUE)),
    );

    let out = sandbox.path("grades");
    let run = sandbox.checker(&[
        "grade",
        class.to_str().unwrap(),
        "--kata",
        LAZY,
        "--kata",
        QUEUE,
        "--time-limit",
        "4",
        "--memory-limit",
        "256",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let results = grades(&out);

    // Tests that already pass on the handout earn nothing: 01 can earn 4 of its 5 points, 09
    // can earn 8 of its 9.
    let score = |name: &str| student(&results, name)["score"].as_u64().unwrap();
    assert_eq!(score("ada"), 12, "the correct student gets full marks");
    assert_eq!(student(&results, "ada")["max_score"], 12);
    assert_eq!(
        score("tess"),
        8,
        "edited tests do not count: the released tests grade her code"
    );
    assert_eq!(
        student(&results, "tess")["tampered"][0],
        "exercises/01-lazy-futures/tests/lazy_futures.rs (changed)"
    );
    assert_eq!(score("hank"), 0);
    assert!(
        statuses(&results, "hank", LAZY)
            .iter()
            .all(|s| s == "timed-out"),
        "{:?}",
        statuses(&results, "hank", LAZY)
    );
    assert_eq!(statuses(&results, "hank", QUEUE), ["missing"; 7]);
    assert_eq!(statuses(&results, "nico", LAZY), ["did-not-compile"; 4]);
    // lou's first listing used up the 4 s: the second was never started.
    assert_eq!(score("lou"), 0);
    let lou_queue = results["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["student"] == "lou" && t["kata"] == QUEUE)
        .map(|t| t["message"].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>();
    assert!(
        lou_queue.iter().all(|m| m.starts_with("not run:")),
        "{lou_queue:?}"
    );
    assert_eq!(score("eve"), 0, "exit(0) in the code is not a pass");
    let eve_review = student(&results, "eve")["review"].to_string();
    assert!(
        eve_review.contains("\"exit\"") && eve_review.contains("std::process::exit"),
        "the review points at eve's exit: {eve_review}"
    );
    assert_eq!(
        score("flo"),
        0,
        "the flood costs flo nothing but the bug, and the handout earns nothing"
    );
    let flo_output: usize = results["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["student"] == "flo")
        .map(|t| t["output"].as_str().unwrap().len())
        .max()
        .unwrap();
    assert!(
        flo_output < 10_000,
        "the flood is truncated in the results: {flo_output} bytes"
    );
    assert_eq!(score("max"), 0);
    let max_message = results["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["student"] == "max" && t["test"] == "sign_up_sends_the_welcome_email")
        .unwrap()["message"]
        .to_string();
    assert!(max_message.contains("ran out of memory"), "{max_message}");
    assert_eq!(score("mia"), 4);
    assert_eq!(statuses(&results, "mia", QUEUE), ["missing"; 7]);

    let gradebook = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    assert!(
        gradebook.starts_with("student,score,max_score,01-lazy-futures,09-bounded-channels"),
        "{gradebook}"
    );
    assert!(gradebook.contains("\nada,12,12,4,8,,\n"), "{gradebook}");
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<testsuite name=\"nico/01-lazy-futures\" tests=\"4\" failures=\"4\""),
        "{junit}"
    );
}

/// results.json without what differs between two runs of the same code: durations, and the
/// output that holds them.
fn comparable(out: &Path) -> Value {
    let mut results = grades(out);
    for test in results["tests"].as_array_mut().unwrap() {
        test["duration_ms"] = 0.into();
        test["output"] = "".into();
    }
    results
}

#[test]
fn shards_merged_equal_one_run_and_gradescope_gets_one_submission() {
    let sandbox = Sandbox::new();
    let class = tempfile::tempdir().unwrap();
    let solved = sandbox.read(&format!("solutions/{QUEUE}/src/lib.rs"));
    let broken = sandbox.read(&format!("exercises/{QUEUE}/src/lib.rs"));
    hand_in(&sandbox, class.path(), "amy", QUEUE, &solved);
    hand_in(&sandbox, class.path(), "ben", QUEUE, &broken);
    hand_in(
        &sandbox,
        class.path(),
        "cal",
        QUEUE,
        &format!("{solved}\n// cal's own\n"),
    );
    let class_dir = class.path().to_str().unwrap();
    let grade = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "grade",
            class_dir,
            "--kata",
            QUEUE,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let run = sandbox.checker(&args);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    };

    let whole = sandbox.path("whole");
    grade(&whole, &[]);
    let mut shards = Vec::new();
    for k in 1..=3 {
        let out = sandbox.path(&format!("shard-{k}"));
        grade(&out, &["--shard", &format!("{k}/3")]);
        assert_eq!(
            grades(&out)["students"].as_array().unwrap().len(),
            1,
            "each shard grades a third of the class"
        );
        shards.push(out);
    }
    let merged = sandbox.path("merged");
    let mut args = vec!["merge-grades"];
    args.extend(shards.iter().map(|s| s.to_str().unwrap()));
    args.extend(["--out", merged.to_str().unwrap()]);
    let run = sandbox.checker(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        comparable(&merged),
        comparable(&whole),
        "three shards merged are the class graded at once"
    );
    let gradebook = std::fs::read_to_string(merged.join("gradebook.csv")).unwrap();
    assert_eq!(
        gradebook,
        std::fs::read_to_string(whole.join("gradebook.csv")).unwrap()
    );
    assert!(
        gradebook.contains("\namy,8,8,8,,\n") && gradebook.contains("\nben,0,8,0,,\n"),
        "{gradebook}"
    );
    // Merging a shard twice would count its students twice.
    let twice = sandbox.checker(&[
        "merge-grades",
        shards[0].to_str().unwrap(),
        shards[0].to_str().unwrap(),
        "--out",
        sandbox.path("twice").to_str().unwrap(),
    ]);
    assert_ne!(twice.code, 0);
    assert!(twice.stderr.contains("in two shards"), "{}", twice.stderr);

    let gradescope = sandbox.path("results-gradescope.json");
    let one = class.path().join("amy");
    let run = sandbox.checker(&[
        "grade",
        one.to_str().unwrap(),
        "--single",
        "--kata",
        QUEUE,
        "--out",
        sandbox.path("single").to_str().unwrap(),
        "--gradescope",
        gradescope.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let gradescope: Value =
        serde_json::from_str(&std::fs::read_to_string(gradescope).unwrap()).unwrap();
    assert_eq!(gradescope["score"], 8);
    assert_eq!(gradescope["tests"].as_array().unwrap().len(), 7);
    assert_eq!(gradescope["tests"][0]["status"], "passed");
}

#[test]
fn a_mistyped_work_dir_is_never_cleared() {
    let sandbox = Sandbox::new();
    let precious = tempfile::tempdir().unwrap();
    std::fs::write(precious.path().join("thesis.tex"), "years of work").unwrap();
    let class = tempfile::tempdir().unwrap();
    std::fs::create_dir(class.path().join("ada")).unwrap();
    let run = sandbox.checker(&[
        "grade",
        class.path().to_str().unwrap(),
        "--work-dir",
        precious.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not a grading workspace"),
        "{}",
        run.stderr
    );
    assert!(precious.path().join("thesis.tex").is_file());
}
