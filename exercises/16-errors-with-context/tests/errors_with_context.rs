//! Every test runs on a paused clock with a fake store: reading a file "takes" a few virtual
//! milliseconds. Each test runs `load_config` in a task of its own, the way the service's startup
//! would, so that a panic inside it is caught and reported instead of crashing the test.
//!
//! The tests never check the wording of an error. They look at two things:
//! - what the engineer on call reads: the whole chain printed with `{:#}` (each context, then its
//!   cause, down to the root) must say what was being done: which file, which setting;
//! - what code can inspect: the errors in the chain (`anyhow::Error::chain`) must still include
//!   the original error itself, as a value of its own type, not only its text pasted into a
//!   message.
//!
//! Every case is tried with two config files at two different paths.

use std::collections::HashMap;
use std::io;
use std::num::ParseIntError;
use std::time::Duration;

use errors_with_context::{load_config, parse_entries, Config, Store, SyntaxError};
use tokio::time::{sleep, timeout};

/// The two places the service reads its config from, depending on the host.
const PATHS: [&str; 2] = ["/etc/ingest/ingest.conf", "/srv/config/eu-3/ingest.toml"];

/// The settings `load_config` checks.
const SETTINGS: [&str; 3] = ["listen_port", "workers", "upstream"];

/// A config file with every setting, one comment and one blank line.
const VALID: &str = "\
# ingest service, host eu-3
listen_port = 8080
workers = 4

upstream = http://queue.internal:9000
";

/// What the store answers for a file that does not exist, and for one the service may not read.
/// Like the operating system's own messages, they do not say which file: only the code that
/// asked for it knows that.
const NOT_FOUND: &str = "No such file or directory";
const DENIED: &str = "Permission denied";

/// Far longer than any read takes.
const PATIENCE: Duration = Duration::from_secs(60);

/// A fake config store: files it holds, and files it refuses to read.
#[derive(Default)]
struct FakeStore {
    files: HashMap<String, String>,
    forbidden: Vec<String>,
}

impl FakeStore {
    fn with(path: &str, text: &str) -> FakeStore {
        FakeStore {
            files: HashMap::from([(path.to_string(), text.to_string())]),
            forbidden: Vec::new(),
        }
    }

    fn forbidding(path: &str) -> FakeStore {
        FakeStore {
            files: HashMap::new(),
            forbidden: vec![path.to_string()],
        }
    }
}

impl Store for FakeStore {
    async fn read(&self, path: &str) -> io::Result<String> {
        sleep(Duration::from_millis(5)).await;
        if self.forbidden.iter().any(|p| p == path) {
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, DENIED));
        }
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, NOT_FOUND))
    }
}

/// `VALID` with the line of `key` replaced by `line` (or removed, if `line` is empty).
fn valid_but(key: &str, line: &str) -> String {
    VALID
        .lines()
        .filter_map(|l| match l.starts_with(key) {
            false => Some(l),
            true if line.is_empty() => None,
            true => Some(line),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `load_config(store, path)` in a task of its own, for at most `PATIENCE` of virtual time.
/// Fails the test if `load_config` panics; `situation` says what was wrong with the input.
async fn load(store: FakeStore, path: &'static str, situation: &str) -> anyhow::Result<Config> {
    let task = tokio::spawn(async move { load_config(&store, path).await });
    match timeout(PATIENCE, task).await {
        Err(_) => panic!(
            "load_config did not return within 60 s of virtual time, although reading a file \
             takes 5 ms: it is stuck"
        ),
        Ok(Err(crash)) if crash.is_panic() => {
            let payload = crash.into_panic();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            panic!(
                "when {situation}, load_config panicked ({message:?}) instead of returning an \
                 Err: the service crashes at startup with no word of which file or setting was \
                 wrong. Bad input must come back to the caller as an error, not a panic"
            )
        }
        Ok(Err(crash)) => panic!("the task running load_config was cancelled: {crash}"),
        Ok(Ok(result)) => result,
    }
}

/// Like `load`, for input that must be rejected: returns the error.
async fn load_err(store: FakeStore, path: &'static str, situation: &str) -> anyhow::Error {
    match load(store, path, situation).await {
        Ok(config) => panic!("when {situation}, load_config returned Ok({config:?})"),
        Err(err) => err,
    }
}

/// The whole chain as the engineer on call reads it.
fn chain(err: &anyhow::Error) -> String {
    format!("{err:#}")
}

/// Checks that the chain names the file, and the setting `key` if there is one, and then no
/// setting that was fine: an error that lists every setting it might be about says nothing.
fn assert_names(err: &anyhow::Error, path: &str, key: Option<&str>, situation: &str) {
    let chain = chain(err);
    let mut unnamed = Vec::new();
    if !chain.contains(path) {
        unnamed.push(format!("which file ({path:?})"));
    }
    if let Some(key) = key {
        if !chain.contains(key) {
            unnamed.push(format!("which setting ({key:?})"));
        }
    }
    assert!(
        unnamed.is_empty(),
        "{situation}, and load_config's error does not say {}: {chain:?}. The error from below \
         cannot know that; the code that was doing the work does, so it must add it on its way \
         up",
        unnamed.join(" or "),
    );
    let Some(key) = key else { return };
    let innocent: Vec<&str> = SETTINGS
        .into_iter()
        .filter(|other| *other != key && chain.contains(other))
        .collect();
    assert!(
        innocent.is_empty(),
        "{situation}, and load_config's error also names {innocent:?}, which are fine: \
         {chain:?}. An error that names every setting it might be about does not say which one \
         is wrong"
    );
}

/// The original error of type `E` in the chain, if it is still there as a value.
fn original<E: std::error::Error + 'static>(err: &anyhow::Error) -> Option<&E> {
    err.chain().find_map(|cause| cause.downcast_ref::<E>())
}

/// The names of the types of the chain's errors cannot be printed, so say how long it is and
/// what each link says.
fn links(err: &anyhow::Error) -> String {
    let links: Vec<String> = err.chain().map(|cause| format!("{cause:?}")).collect();
    format!(
        "{} error(s) in the chain: {}",
        links.len(),
        links.join(" <- ")
    )
}

#[tokio::test(start_paused = true)]
async fn a_valid_config_loads() {
    let other = "listen_port=9090\n  workers =  16  \n# the queue\nupstream= http://q2:1\n";
    for (path, text, expected) in [
        (
            PATHS[0],
            VALID,
            Config {
                listen_port: 8080,
                workers: 4,
                upstream: "http://queue.internal:9000".to_string(),
            },
        ),
        (
            PATHS[1],
            other,
            Config {
                listen_port: 9090,
                workers: 16,
                upstream: "http://q2:1".to_string(),
            },
        ),
    ] {
        let config = load(FakeStore::with(path, text), path, "the config is valid")
            .await
            .unwrap_or_else(|err| panic!("load_config rejected a valid config: {err:#}"));
        assert_eq!(
            config, expected,
            "load_config did not return the settings written in {path}:\n{text}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_file_that_cannot_be_read_is_an_error_naming_the_file() {
    for path in PATHS {
        let cases = [
            (FakeStore::default(), "the config file is missing"),
            (
                FakeStore::forbidding(path),
                "the config file may not be read",
            ),
        ];
        for (store, what) in cases {
            let situation = format!("{what} ({path})");
            let err = load_err(store, path, &situation).await;
            assert_names(&err, path, None, &situation);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_malformed_line_is_an_error_naming_the_file_and_the_line() {
    let cases = [
        valid_but("workers", "workers 4"),
        valid_but("# ingest", "[ingest]"),
        format!("{VALID}upstream_timeout: 5s\n"),
    ];
    for path in PATHS {
        for text in &cases {
            let syntax = parse_entries(text).expect_err("the test's config should not parse");
            let situation = format!("line {} of {path} has no `=`", syntax.line);
            let err = load_err(FakeStore::with(path, text), path, &situation).await;

            assert_names(&err, path, None, &situation);
            let chain = chain(&err);
            assert!(
                chain.contains(&syntax.to_string()),
                "{situation}, and load_config's error lost the parser's message {:?}, which \
                 says which line and what was found there: {chain:?}",
                syntax.to_string(),
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_bad_value_is_an_error_naming_the_file_and_the_setting() {
    let cases = [
        ("listen_port", "listen_port = 80800"),
        ("listen_port", "listen_port = -1"),
        ("listen_port", "listen_port ="),
        ("workers", "workers = four"),
        ("workers", "workers = 2.5"),
    ];
    for path in PATHS {
        for (key, line) in cases {
            let situation = format!("{path} says `{line}`");
            let err = load_err(
                FakeStore::with(path, &valid_but(key, line)),
                path,
                &situation,
            )
            .await;
            assert_names(&err, path, Some(key), &situation);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_missing_setting_is_an_error_naming_the_file_and_the_setting() {
    for path in PATHS {
        for key in SETTINGS {
            let situation = format!("{path} has no `{key}`");
            let err = load_err(FakeStore::with(path, &valid_but(key, "")), path, &situation).await;
            assert_names(&err, path, Some(key), &situation);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_original_error_stays_in_the_chain() {
    let advice =
        "Its text in a message is not enough: code above (a fallback to defaults when the \
                  file is missing, a metric per kind of failure) inspects the chain's errors \
                  with downcast_ref. Wrap the original error, so it stays in the chain as the \
                  cause, instead of formatting it into a new one";
    for path in PATHS {
        // The store's io::Error, with its kind and its message.
        for (store, kind, message) in [
            (FakeStore::default(), io::ErrorKind::NotFound, NOT_FOUND),
            (
                FakeStore::forbidding(path),
                io::ErrorKind::PermissionDenied,
                DENIED,
            ),
        ] {
            let situation = format!("reading {path} failed with {kind:?}");
            let err = load_err(store, path, &situation).await;
            let found = original::<io::Error>(&err);
            assert!(
                found.is_some_and(|e| e.kind() == kind && e.to_string() == message),
                "{situation}, but the store's io::Error ({kind:?}, {message:?}) is not in the \
                 chain of load_config's error ({}). {advice}",
                links(&err),
            );
        }

        // The parser's SyntaxError.
        let text = valid_but("workers", "workers 4");
        let syntax = parse_entries(&text).expect_err("the test's config should not parse");
        let situation = format!("line {} of {path} has no `=`", syntax.line);
        let err = load_err(FakeStore::with(path, &text), path, &situation).await;
        assert!(
            original::<SyntaxError>(&err) == Some(&syntax),
            "{situation}, but the parser's {syntax:?} is not in the chain of load_config's \
             error ({}). {advice}",
            links(&err),
        );

        // The ParseIntError of a bad number.
        for (key, line, value) in [
            ("listen_port", "listen_port = 80800", "80800"),
            ("workers", "workers = four", "four"),
        ] {
            let expected: ParseIntError = value
                .parse::<u16>()
                .expect_err("the test's value should not parse");
            let situation = format!("{path} says `{line}`");
            let err = load_err(
                FakeStore::with(path, &valid_but(key, line)),
                path,
                &situation,
            )
            .await;
            assert!(
                original::<ParseIntError>(&err).is_some_and(|e| e.kind() == expected.kind()),
                "{situation}, but the ParseIntError ({expected}) is not in the chain of \
                 load_config's error ({}). {advice}",
                links(&err),
            );
        }
    }
}
