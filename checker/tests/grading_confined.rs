//! A class built to cheat and to sabotage, graded through the real binary: nobody steals the
//! solutions or reads the grader's files, nobody touches anyone else's build or grade or the
//! instructor's repository, nothing a student started outlives grading, and it all ends in
//! bounded time. Linux only: confinement is Landlock and a network namespace.

#![cfg(target_os = "linux")]

mod util;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use util::{student, Sandbox};

const LAZY: &str = "01-lazy-futures";
const CAPSTONE: &str = "30-capstone-server";
const SIGN_UP: &str = "pub async fn sign_up(&self, email: &str) -> UserId {";
/// A secret in the grader's environment, as a CI token would be.
const SECRET: &str = "grader-token-5f3a9c";

/// A class folder where each student hands in only `exercises/<kata>/src/` files.
struct Class {
    dir: tempfile::TempDir,
}

impl Class {
    fn new() -> Class {
        Class {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn src(&self, student: &str, kata: &str) -> PathBuf {
        let src = self
            .dir
            .path()
            .join(student)
            .join("exercises")
            .join(kata)
            .join("src");
        std::fs::create_dir_all(&src).unwrap();
        src
    }

    fn hand_in(&self, student: &str, kata: &str, lib: &str) {
        std::fs::write(self.src(student, kata).join("lib.rs"), lib).unwrap();
    }
}

/// The reference solution of kata 01 with `attack` run at the start of every sign-up, and
/// `helpers` (functions the attack calls) added.
fn solution_with(sandbox: &Sandbox, attack: &str, helpers: &str) -> String {
    let solution = sandbox.read(&format!("solutions/{LAZY}/src/lib.rs"));
    assert!(
        solution.contains(SIGN_UP),
        "kata 01's solution still has sign_up"
    );
    format!(
        "{}\n{helpers}\n",
        solution.replace(SIGN_UP, &format!("{SIGN_UP}\n        {attack}"))
    )
}

fn grade(sandbox: &Sandbox, class: &Class, out: &Path, katas: &[&str]) -> (util::Run, Value) {
    let mut args = vec!["grade".to_string(), class.dir.path().display().to_string()];
    args.extend(["--out".into(), out.display().to_string()]);
    for kata in katas {
        args.extend(["--kata".into(), kata.to_string()]);
    }
    args.extend(["--time-limit".into(), "120".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = sandbox.checker(&args);
    let results = std::fs::read_to_string(out.join("results.json"))
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap_or(Value::Null);
    (run, results)
}

fn score(results: &Value, name: &str, kata: &str) -> u64 {
    student(results, name)["katas"][kata].as_u64().unwrap_or(0)
}

fn problems(results: &Value, name: &str) -> String {
    student(results, name)["problems"].to_string()
}

/// Every file of `dir` with its contents, to prove nothing changed.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            let skip = path
                .file_name()
                .is_some_and(|n| n == "target" || n == ".kata");
            if kind.is_dir() && !skip {
                stack.push(path);
            } else if kind.is_file() {
                files.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

fn processes_with(marker: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(marker))
        .collect()
}

#[test]
fn a_hostile_class_steals_nothing_breaks_nothing_and_leaves_nothing_running() {
    let sandbox = Sandbox::new();
    if !util::confinement_available(&sandbox) {
        return;
    }
    let repo = sandbox.root().to_path_buf();
    let class = Class::new();
    let solution = sandbox.read(&format!("solutions/{LAZY}/src/lib.rs"));
    let handout = sandbox.read(&format!("exercises/{LAZY}/src/lib.rs"));
    let solution_path = repo.join("solutions").join(LAZY).join("src/lib.rs");

    // Honest students, one of them on the capstone, whose tests need loopback sockets.
    class.hand_in("honest", LAZY, &solution);
    class.hand_in(
        "honest",
        CAPSTONE,
        &sandbox.read(&format!("solutions/{CAPSTONE}/src/lib.rs")),
    );
    // Stealing the reference solution.
    class.hand_in(
        "path-to-solution",
        LAZY,
        &format!(
            "#[path = {:?}]\nmod sol;\npub use sol::*;\n",
            solution_path.display().to_string()
        ),
    );
    class.hand_in(
        "include-solution",
        LAZY,
        &format!("include!({:?});\n", solution_path.display().to_string()),
    );
    let linked = class.src("symlinked-lib", LAZY);
    std::os::unix::fs::symlink(&solution_path, linked.join("lib.rs")).unwrap();
    let passwd = class.src("symlinked-passwd", LAZY);
    std::fs::write(passwd.join("lib.rs"), &handout).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", passwd.join("secrets.rs")).unwrap();
    let looped = class.src("symlink-loop", LAZY);
    std::fs::write(looped.join("lib.rs"), &solution).unwrap();
    std::os::unix::fs::symlink(".", looped.join("again")).unwrap();
    std::os::unix::fs::symlink(".", looped.join("and-again")).unwrap();
    // Reading the grader's files at test time.
    let read_attack = solution_with(
        &sandbox,
        "read_secrets();",
        "fn read_secrets() { for path in [\"/etc/passwd\", \"/etc/hostname\"] { \
         if let Ok(text) = std::fs::read_to_string(path) { panic!(\"read {path}: {text}\"); } } }",
    );
    class.hand_in("reads-files", LAZY, &read_attack);
    // Connecting to a Unix socket of the grader's (a desktop bus or the Docker daemon would run
    // commands outside the sandbox for it).
    let sockets = tempfile::tempdir().unwrap();
    let socket_path = sockets.path().join("grader.sock");
    let grader_socket = std::os::unix::net::UnixListener::bind(&socket_path).unwrap();
    grader_socket.set_nonblocking(true).unwrap();
    let socket_attack = solution_with(
        &sandbox,
        &format!(
            "if std::os::unix::net::UnixStream::connect({:?}).is_ok() {{ panic!(\"reached the grader's socket\"); }}",
            socket_path.display().to_string()
        ),
        "",
    );
    class.hand_in("connects-to-a-socket", LAZY, &socket_attack);
    // Signalling the grader (signal 0 only asks whether it could: a real attack would kill it).
    let signal_attack = solution_with(
        &sandbox,
        &format!(
            "if std::process::Command::new(\"kill\").args([\"-0\", \"{}\"]).status().is_ok_and(|s| s.success()) {{ panic!(\"could signal the grader\"); }}",
            std::process::id()
        ),
        "",
    );
    class.hand_in("signals-the-grader", LAZY, &signal_attack);
    // Reading the grader's environment (a token, say), at test time and at build time.
    std::env::set_var("KATA_GRADER_SECRET", SECRET);
    let env_attack = solution_with(
        &sandbox,
        "if let Ok(secret) = std::env::var(\"KATA_GRADER_SECRET\") { panic!(\"ran with {secret}\"); }",
        "",
    );
    class.hand_in("reads-env", LAZY, &env_attack);
    let build_env_attack = solution_with(
        &sandbox,
        "if let Some(secret) = option_env!(\"KATA_GRADER_SECRET\") { panic!(\"built with {secret}\"); }",
        "",
    );
    class.hand_in("builds-with-env", LAZY, &build_env_attack);
    // Sabotage: overwrite every test binary and build file it can find, plant a test in the
    // instructor's repository, and reach a server on the grader's own loopback.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let sabotage = solution_with(
        &sandbox,
        "sabotage();",
        &format!(
            "fn sabotage() {{\n\
             let repo = std::path::Path::new({repo:?});\n\
             let _ = std::fs::write(repo.join(\"exercises/{LAZY}/tests/zz_planted.rs\"), \"#[test] fn planted() {{}}\");\n\
             for dir in [repo.join(\"target/grading\"), std::env::temp_dir().join(\"..\")] {{ overwrite(&dir, 0); }}\n\
             if std::net::TcpStream::connect((\"127.0.0.1\", {port})).is_ok() {{ panic!(\"reached the grader's loopback\"); }}\n\
             }}\n\
             fn overwrite(dir: &std::path::Path, depth: u32) {{\n\
             if depth > 8 {{ return; }}\n\
             let Ok(entries) = std::fs::read_dir(dir) else {{ return }};\n\
             for entry in entries.flatten() {{ let path = entry.path();\n\
             if path.is_dir() {{ overwrite(&path, depth + 1); }} else {{ let _ = std::fs::write(&path, b\"sabotaged\"); }} }}\n\
             }}",
            repo = repo.display().to_string()
        ),
    );
    class.hand_in("saboteur", LAZY, &sabotage);
    // A process that escapes its test with setsid and would outlive grading.
    let survivor = solution_with(
        &sandbox,
        "escape();",
        "fn escape() { let _ = std::process::Command::new(\"setsid\").args([\"-f\", \"sleep\", \"987.654\"]).spawn(); }",
    );
    class.hand_in("survivor", LAZY, &survivor);
    // A constructor that sleeps, so the test binary never even lists its tests.
    class.hand_in(
        "sleeping-constructor",
        LAZY,
        &format!(
            "{solution}\n#[used]\n#[link_section = \".init_array\"]\nstatic NAP: extern \"C\" fn() = nap;\n\
             extern \"C\" fn nap() {{ std::thread::sleep(std::time::Duration::from_secs(600)); }}\n"
        ),
    );

    let before = snapshot(&repo);
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (run, results) = grade(&sandbox, &class, out.path(), &[LAZY, CAPSTONE]);
    let took = started.elapsed();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);

    let full = |kata: &str| -> u64 {
        results["katas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k[0] == kata)
            .map(|k| k[1].as_u64().unwrap())
            .unwrap()
    };
    assert_eq!(score(&results, "honest", LAZY), full(LAZY), "{results}");
    assert_eq!(
        score(&results, "honest", CAPSTONE),
        full(CAPSTONE),
        "the capstone's loopback sockets work inside the confinement: {results}"
    );
    for thief in ["path-to-solution", "include-solution"] {
        assert_eq!(
            score(&results, thief, LAZY),
            0,
            "{thief} stole nothing: {results}"
        );
    }
    assert_eq!(score(&results, "symlinked-lib", LAZY), 0);
    assert!(problems(&results, "symlinked-lib").contains("symbolic link"));
    assert!(problems(&results, "symlinked-passwd").contains("symbolic link"));
    assert!(problems(&results, "symlink-loop").contains("symbolic link"));
    let everything = std::fs::read_to_string(out.path().join("results.json")).unwrap();
    assert!(
        !everything.contains("root:x:0:0"),
        "no line of /etc/passwd reached the results"
    );
    assert_eq!(
        score(&results, "reads-files", LAZY),
        full(LAZY),
        "the grader's files could not be read (a read that worked panics with what it read)"
    );
    assert_eq!(
        score(&results, "connects-to-a-socket", LAZY),
        full(LAZY),
        "the grader's Unix socket was out of reach (reaching it panics): {results}"
    );
    assert!(
        grader_socket.accept().is_err(),
        "no connection reached the grader's Unix socket"
    );
    assert_eq!(
        score(&results, "signals-the-grader", LAZY),
        full(LAZY),
        "the grader could not be signalled (a signal that could be sent panics): {results}"
    );
    for reader in ["reads-env", "builds-with-env"] {
        assert_eq!(
            score(&results, reader, LAZY),
            full(LAZY),
            "{reader} did not see the grader's environment (seeing it panics): {results}"
        );
    }
    assert!(
        !everything.contains(SECRET),
        "no secret reached the results"
    );
    assert_eq!(
        score(&results, "saboteur", LAZY),
        full(LAZY),
        "the sabotage attempts all failed quietly, so the saboteur's own tests pass"
    );
    assert!(
        listener.accept().is_err(),
        "no connection reached the grader's loopback"
    );
    assert_eq!(score(&results, "sleeping-constructor", LAZY), 0);
    assert!(
        processes_with("987.654").is_empty(),
        "a detached process outlived grading"
    );
    assert!(
        took < Duration::from_secs(600),
        "grading took {took:?}: something waited for ever"
    );
    assert!(
        snapshot(&repo) == before,
        "the instructor's repository is byte for byte as it was"
    );

    // A second run of the honest student alone gets the same grade: nothing planted counts.
    let again = Class::new();
    again.hand_in("honest", LAZY, &solution);
    let out_again = tempfile::tempdir().unwrap();
    let (_, results) = grade(&sandbox, &again, out_again.path(), &[LAZY]);
    assert_eq!(score(&results, "honest", LAZY), full(LAZY));
}

#[test]
fn doctor_says_whether_students_code_can_be_confined() {
    let sandbox = Sandbox::new();
    let doctor = sandbox.checker(&["doctor", "--no-build"]);
    assert!(
        doctor.stdout.contains("confinement"),
        "{}{}",
        doctor.stdout,
        doctor.stderr
    );
}

#[test]
fn without_confinement_grade_refuses_unless_told_otherwise() {
    let sandbox = Sandbox::new();
    let class = Class::new();
    class.hand_in(
        "honest",
        LAZY,
        &sandbox.read(&format!("solutions/{LAZY}/src/lib.rs")),
    );
    let out = tempfile::tempdir().unwrap();
    let path = class.dir.path().display().to_string();
    let out_path = out.path().display().to_string();
    let args = [
        "grade",
        path.as_str(),
        "--out",
        out_path.as_str(),
        "--kata",
        LAZY,
    ];
    let refused = sandbox.checker_with(&args, |cmd| {
        cmd.env("KATA_FORCE_NO_CONFINEMENT", "1");
    });
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--unconfined") && refused.stderr.contains("cannot be confined"),
        "{}",
        refused.stderr
    );
    let mut unconfined = args.to_vec();
    unconfined.push("--unconfined");
    let graded = sandbox.checker_with(&unconfined, |cmd| {
        cmd.env("KATA_FORCE_NO_CONFINEMENT", "1");
    });
    assert_eq!(graded.code, 0, "{}", graded.stderr);
    assert!(graded.stderr.contains("UNCONFINED"), "{}", graded.stderr);
}
