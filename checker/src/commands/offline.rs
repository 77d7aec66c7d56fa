//! `offline`: prepares the repository to build with no network at all: every dependency copied
//! into `vendor/`, and cargo pointed at it by one marked block in `.cargo/config.toml`.

use super::Workspace;
use crate::exit;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output, Stdio};

/// Where the crates go, relative to the repository root.
pub const VENDOR_DIR: &str = "vendor";
/// The first and last lines of the block this command owns in `.cargo/config.toml`.
const BEGIN: &str = "# >>> cargo kata offline: every crate comes from vendor/, no network needed";
const END: &str = "# <<< cargo kata offline";

/// The source replacement. `directory` is relative to the folder holding `.cargo/`, so the
/// prepared repository keeps working wherever it is copied (a USB stick, another path).
fn block() -> String {
    [
        BEGIN,
        "# Written by `cargo kata offline`; `cargo kata offline --undo` removes exactly this block.",
        "[source.crates-io]",
        "replace-with = \"kata-vendored\"",
        "",
        "[source.kata-vendored]",
        "directory = \"vendor\"",
        END,
    ]
    .map(|line| format!("{line}\n"))
    .concat()
}

pub fn offline(workspace: &Workspace, undo: bool) -> Result<ExitCode> {
    let root = &workspace.repo.root;
    if undo {
        undo_offline(root)
    } else {
        prepare(root)
    }
}

pub fn config_path(root: &Path) -> PathBuf {
    root.join(".cargo").join("config.toml")
}

/// Whether `.cargo/config.toml` holds this command's block (cargo then reads crates from vendor/).
pub fn is_prepared(root: &Path) -> bool {
    std::fs::read_to_string(config_path(root))
        .ok()
        .and_then(|text| find_block(&text).ok().flatten())
        .is_some()
}

/// The cargo that started us, else the one on PATH (where a missing one fails to start, and
/// that is reported where it is run).
pub fn cargo_command() -> Command {
    Command::new(crate::cargo::program().unwrap_or_else(|_| "cargo".into()))
}

fn prepare(root: &Path) -> Result<ExitCode> {
    if !root.join("Cargo.lock").is_file() {
        bail!(
            "Cargo.lock is missing, and the vendored crates must be exactly the locked ones: \
             restore it with `git checkout -- Cargo.lock`"
        );
    }
    let path = config_path(root);
    let before = read_config(&path)?;
    // Checked before downloading anything, so a config we cannot extend costs nothing.
    let after = with_block(&before).with_context(|| format!("in {}", path.display()))?;

    outln!(
        "Copying every dependency into {VENDOR_DIR}/ (cargo vendor; this downloads them once)..."
    );
    // `cargo vendor` ignores [source] replacements unless told otherwise, so running it again
    // refreshes vendor/ from crates.io even while cargo is pointed at it.
    let vendor = run(cargo_command()
        .current_dir(root)
        .args(["vendor", "--locked", VENDOR_DIR]))?;
    if !vendor.status.success() {
        bail!(
            "cargo could not vendor the dependencies: {}\n\
             Vendoring downloads every crate from crates.io once: connect to the network and run \
             `cargo kata offline` again (a machine that has built the workshop before can vendor \
             from cargo's cache: `CARGO_NET_OFFLINE=true cargo kata offline`)",
            cargo_error(&vendor)
        );
    }

    // cargo vendor makes no folder when there is nothing to vendor; the config must never name
    // a folder that is not there.
    let vendor_dir = root.join(VENDOR_DIR);
    std::fs::create_dir_all(&vendor_dir)
        .with_context(|| format!("cannot create {}", vendor_dir.display()))?;
    if after != before {
        write_config(&path, &after)?;
    }
    // Prove it: with cargo now reading vendor/, resolving every locked crate must need no network.
    let check = run(cargo_command()
        .current_dir(root)
        .args(["fetch", "--offline", "--locked"]))?;
    if !check.status.success() {
        write_config(&path, &before)?;
        bail!(
            "the vendored crates do not cover Cargo.lock, so .cargo/config.toml was left as it was: {}",
            cargo_error(&check)
        );
    }

    let (crates, bytes) = vendor_size(&vendor_dir);
    let status = if after == before {
        "was already"
    } else {
        "is now"
    };
    outln!(
        "✔ {VENDOR_DIR}/ holds {crates} crates ({})",
        megabytes(bytes)
    );
    outln!("✔ .cargo/config.toml {status} pointing cargo at {VENDOR_DIR}/ (a marked block)");
    outln!();
    outln!("This repository now builds with no network. To hand it to learners, copy the whole");
    outln!("folder, hidden .cargo/ included (target/ is not needed); they need a Rust toolchain.");
    outln!("Check a machine with `cargo kata doctor`; undo with `cargo kata offline --undo`.");
    Ok(exit::SUCCESS.into())
}

fn undo_offline(root: &Path) -> Result<ExitCode> {
    let path = config_path(root);
    let before = read_config(&path)?;
    let Some(after) = without_block(&before).with_context(|| format!("in {}", path.display()))?
    else {
        outln!(
            "Nothing to undo: .cargo/config.toml has no `cargo kata offline` block, so cargo \
             already downloads from crates.io."
        );
        return Ok(exit::SUCCESS.into());
    };
    write_config(&path, &after)?;
    outln!("✔ cargo downloads from crates.io again (the block is gone from .cargo/config.toml)");
    let vendor = root.join(VENDOR_DIR);
    if vendor.is_dir() {
        let (_, bytes) = vendor_size(&vendor);
        outln!(
            "  {VENDOR_DIR}/ is left in place ({}): delete it when you no longer need it",
            megabytes(bytes)
        );
    }
    Ok(exit::SUCCESS.into())
}

fn read_config(path: &Path) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes beside and renames, so an interrupted write never leaves cargo a half config.
fn write_config(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().context("the config has a folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let temporary = dir.join(".config.toml.kata-offline");
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The byte range of the block, its separating blank line included; an error when only one of
/// its two marker lines is there (someone edited it: we must not guess what to remove).
fn find_block(text: &str) -> Result<Option<std::ops::Range<usize>>> {
    let line_at = |marker: &str| {
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            if line.trim_end() == marker {
                return Some((offset, offset + line.len()));
            }
            offset += line.len();
        }
        None
    };
    match (line_at(BEGIN), line_at(END)) {
        (None, None) => Ok(None),
        (Some((start, _)), Some((end_start, end))) if start < end_start => {
            // The blank line written before the block belongs to it.
            let start = if text[..start].ends_with("\n\n") {
                start - 1
            } else {
                start
            };
            Ok(Some(start..end))
        }
        _ => bail!(
            "the `cargo kata offline` block is damaged (one of its marker lines `{BEGIN}` and \
             `{END}` is missing or out of order): remove what is left of it by hand"
        ),
    }
}

/// `text` with exactly one block at its end, whether or not it had one.
fn with_block(text: &str) -> Result<String> {
    let mut rest = without_block(text)?.unwrap_or_else(|| text.to_string());
    let table: toml::Table = rest
        .parse()
        .context("it is not valid TOML, so it cannot be extended: fix it first")?;
    if table.contains_key("source") {
        bail!(
            "it already replaces cargo's sources in a [source] table of its own; remove that \
             table first, or keep using it instead of `cargo kata offline`"
        );
    }
    if !rest.is_empty() {
        if !rest.ends_with('\n') {
            rest.push('\n');
        }
        rest.push('\n');
    }
    rest.push_str(&block());
    Ok(rest)
}

/// `text` without the block, or None when it has none.
fn without_block(text: &str) -> Result<Option<String>> {
    Ok(find_block(text)?.map(|range| {
        let mut rest = text.to_string();
        rest.replace_range(range, "");
        rest
    }))
}

/// Runs a cargo command to the end, keeping its output out of the learner's way.
fn run(cmd: &mut Command) -> Result<Output> {
    cmd.stdin(Stdio::null())
        .output()
        .context("cannot run cargo: install the Rust toolchain (https://rustup.rs) and try again")
}

/// Cargo's own error, from its first `error` line on, in a few lines.
pub fn cargo_error(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let first = lines
        .iter()
        .position(|line| line.trim_start().starts_with("error"))
        .unwrap_or(0);
    let shown: Vec<&str> = lines[first..].iter().take(6).copied().collect();
    if shown.is_empty() {
        format!("cargo exited with {}", output.status)
    } else {
        shown.join("\n")
    }
}

/// How many crates vendor/ holds (one folder each) and how many bytes in all.
pub fn vendor_size(dir: &Path) -> (usize, u64) {
    let crates = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().filter(|e| e.path().is_dir()).count())
        .unwrap_or(0);
    (crates, bytes_under(dir))
}

fn bytes_under(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| bytes_under(&e.path())).sum())
        .unwrap_or(0)
}

pub fn megabytes(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALIAS: &str = "[alias]\nkata = \"run --quiet --package kata-launcher --\"\n";

    #[test]
    fn the_block_is_added_once_and_removed_exactly() {
        let once = with_block(ALIAS).unwrap();
        assert!(once.starts_with(ALIAS));
        assert_eq!(once.matches(BEGIN).count(), 1);
        assert_eq!(with_block(&once).unwrap(), once);
        assert_eq!(without_block(&once).unwrap().as_deref(), Some(ALIAS));
        // What cargo reads: the alias is untouched and crates.io is replaced.
        let table: toml::Table = once.parse().unwrap();
        assert!(table["alias"]["kata"].is_str());
        assert_eq!(
            table["source"]["crates-io"]["replace-with"].as_str(),
            Some("kata-vendored")
        );
    }

    #[test]
    fn an_empty_or_missing_config_gets_only_the_block() {
        assert_eq!(with_block("").unwrap(), block());
        assert_eq!(without_block(&block()).unwrap().as_deref(), Some(""));
    }

    #[test]
    fn lines_added_after_the_block_survive_undo() {
        let text = format!("{}[build]\njobs = 2\n", with_block(ALIAS).unwrap());
        assert_eq!(
            without_block(&text).unwrap().unwrap(),
            format!("{ALIAS}[build]\njobs = 2\n")
        );
    }

    #[test]
    fn no_block_means_nothing_to_undo() {
        assert_eq!(without_block(ALIAS).unwrap(), None);
    }

    #[test]
    fn a_source_table_of_our_own_is_not_overwritten() {
        let text = format!("{ALIAS}[source.crates-io]\nreplace-with = \"mirror\"\n");
        assert!(with_block(&text).is_err());
    }

    #[test]
    fn a_damaged_block_is_reported_not_guessed() {
        let text = format!("{ALIAS}\n{BEGIN}\n[source.crates-io]\n");
        assert!(without_block(&text).is_err());
        assert!(with_block(&text).is_err());
    }
}
