//! Every test runs on a paused clock with a fake store: reading a file "takes" a few virtual
//! milliseconds. Each test runs `load_config` in a task of its own, the way the service's startup
//! would, so that a panic inside it is caught and reported instead of crashing the test.
//!
//! The tests never check the wording of an error. They print its whole chain with `{:#}` (each
//! context, then its cause, down to the root) and check that the chain says what was being done
//! (which file, which setting) and still holds the root cause's own message.

use std::collections::HashMap;
use std::io;
use std::time::Duration;

use errors_with_context::{load_config, parse_entries, Config, Store};
use tokio::time::{sleep, timeout};

/// The file the service reads at startup.
const PATH: &str = "/etc/ingest/ingest.conf";

/// A config file with every setting, one comment and one blank line.
const VALID: &str = "\
# ingest service, host eu-3
listen_port = 8080
workers = 4

upstream = http://queue.internal:9000
";

/// What the store answers for a file that does not exist. Like the operating system's own
/// message, it does not say which file: only the code that asked for it knows that.
const NOT_FOUND: &str = "No such file or directory";

/// Far longer than any read takes.
const PATIENCE: Duration = Duration::from_secs(60);

/// A store holding at most one file, at `PATH`.
struct FakeStore {
    files: HashMap<String, String>,
}

impl FakeStore {
    fn with(text: &str) -> FakeStore {
        FakeStore {
            files: HashMap::from([(PATH.to_string(), text.to_string())]),
        }
    }

    fn empty() -> FakeStore {
        FakeStore {
            files: HashMap::new(),
        }
    }
}

impl Store for FakeStore {
    async fn read(&self, path: &str) -> io::Result<String> {
        sleep(Duration::from_millis(5)).await;
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
        .map(|l| if l.starts_with(key) { line } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `load_config(store, PATH)` in a task of its own, for at most `PATIENCE` of virtual time.
/// An error comes back as its whole chain, printed with `{:#}`. Fails the test if `load_config`
/// panics; `situation` says what was wrong with the input.
async fn load(store: FakeStore, situation: &str) -> Result<Config, String> {
    let task = tokio::spawn(async move {
        load_config(&store, PATH)
            .await
            .map_err(|err| format!("{err:#}"))
    });
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
                 wrong. Bad input must come back as an error (`?`), not a panic (`unwrap`, `[]`)"
            )
        }
        Ok(Err(crash)) => panic!("the task running load_config was cancelled: {crash}"),
        Ok(Ok(result)) => result,
    }
}

/// What an error chain fails to name, of the file and the setting: `None` if it names both.
fn unnamed(chain: &str, key: &str) -> Option<String> {
    match (chain.contains(PATH), chain.contains(key)) {
        (true, true) => None,
        (false, true) => Some(format!("which file ({PATH:?})")),
        (true, false) => Some(format!("which setting ({key:?})")),
        (false, false) => Some(format!("which file ({PATH:?}) or which setting ({key:?})")),
    }
}

/// Like `load`, for input that must be rejected: returns the error's chain.
async fn load_err(store: FakeStore, situation: &str) -> String {
    match load(store, situation).await {
        Ok(config) => panic!("when {situation}, load_config returned Ok({config:?})"),
        Err(chain) => chain,
    }
}

#[tokio::test(start_paused = true)]
async fn a_valid_config_loads() {
    let config = load(FakeStore::with(VALID), "the config is valid")
        .await
        .unwrap_or_else(|chain| panic!("load_config rejected a valid config: {chain}"));

    assert_eq!(
        config,
        Config {
            listen_port: 8080,
            workers: 4,
            upstream: "http://queue.internal:9000".to_string(),
        },
        "load_config did not return the settings written in the file"
    );
}

#[tokio::test(start_paused = true)]
async fn a_missing_file_is_an_error_naming_the_file() {
    let chain = load_err(FakeStore::empty(), "the config file is missing").await;

    assert!(
        chain.contains(PATH),
        "the config file is missing and load_config's error does not say which file it was \
         reading: {chain:?}. The store's error cannot know the path; load_config does, so it \
         should add it as context"
    );
    assert!(
        chain.contains(NOT_FOUND),
        "the config file is missing and load_config's error names the file, but lost the root \
         cause {NOT_FOUND:?} from the store: {chain:?}. Wrap the error with context instead of \
         replacing it"
    );
}

#[tokio::test(start_paused = true)]
async fn a_malformed_line_is_an_error_naming_the_file_and_the_line() {
    let text = valid_but("workers", "workers 4");
    let root_cause = parse_entries(&text)
        .expect_err("the test's malformed config should not parse")
        .to_string();

    let chain = load_err(FakeStore::with(&text), "a line of the config has no `=`").await;

    assert!(
        chain.contains(PATH),
        "a line of the config is malformed and load_config's error does not say which file it \
         was parsing: {chain:?}. Add what was being done as context, at the step that knows it"
    );
    assert!(
        chain.contains(&root_cause),
        "a line of the config is malformed and load_config's error lost the root cause, the \
         parser's {root_cause:?} (which says which line): {chain:?}. Wrap the error with \
         context instead of replacing it"
    );
}

#[tokio::test(start_paused = true)]
async fn a_bad_value_is_an_error_naming_the_file_the_setting_and_the_cause() {
    let cases = [
        (
            "listen_port",
            "listen_port = 80800",
            "80800".parse::<u16>().unwrap_err().to_string(),
        ),
        (
            "workers",
            "workers = four",
            "four".parse::<usize>().unwrap_err().to_string(),
        ),
    ];

    for (key, line, root_cause) in cases {
        let situation = format!("the config says `{line}`");
        let chain = load_err(FakeStore::with(&valid_but(key, line)), &situation).await;

        if let Some(unnamed) = unnamed(&chain, key) {
            panic!(
                "{situation}, and load_config's error does not say {unnamed}: {chain:?}. Add \
                 what was being done as context, at the step that knows it"
            );
        }
        assert!(
            chain.contains(&root_cause),
            "{situation}, and load_config's error lost the root cause, the parse error \
             {root_cause:?}: {chain:?}. Wrap the error with context instead of replacing it"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_missing_setting_is_an_error_naming_the_file_and_the_setting() {
    for key in ["upstream", "workers", "listen_port"] {
        let situation = format!("the config has no `{key}`");
        let chain = load_err(FakeStore::with(&valid_but(key, "")), &situation).await;

        if let Some(unnamed) = unnamed(&chain, key) {
            panic!(
                "{situation}, and load_config's error does not say {unnamed}: {chain:?}. An \
                 absent setting is an error like any other: say which one is missing, and where"
            );
        }
    }
}
