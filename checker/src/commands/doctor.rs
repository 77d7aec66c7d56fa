//! `doctor`: checks a learner's machine is ready for a workshop, one line per check, each with
//! the fix when it fails.

mod build;
mod lock;
mod toolchain;

use super::offline;
use super::Workspace;
use crate::exit;
use anyhow::Result;
use colored::Colorize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn doctor(workspace: &Workspace, no_build: bool) -> Result<ExitCode> {
    let root = &workspace.repo.root;
    outln!(
        "Checking this machine for the workshop ({})",
        root.display()
    );
    let mut report = Report::default();

    let tools = toolchain::Tools::find();
    report.add(toolchain::versions(root, &tools));
    report.add(toolchain::components(&tools));
    report.add(editor_target_dir(root));

    let dirs = target_dirs(root);
    let lock = lock::build_lock(&dirs);
    let lock_held = lock.status == Status::Fail;
    report.add(lock);

    let deps = offline_dependencies(root, &tools);
    let deps_missing = deps.status == Status::Fail;
    report.add(deps);

    let first_build = if lock_held {
        Check::skip("first build", "not checked: the build lock is held")
    } else if deps_missing {
        Check::skip("first build", "not checked: dependencies are missing")
    } else {
        build::first_build(root, &workspace.catalogue, no_build)
    };
    report.add(first_build);
    report.add(confinement());

    Ok(report.finish())
}

/// For instructors: whether `grade` can confine students' code here. Learners never need it, so
/// its absence is a warning, not a failure.
fn confinement() -> Check {
    const NAME: &str = "grading confinement";
    match crate::confine::check_available() {
        Ok(()) => Check::pass(
            NAME,
            "available: grade builds and runs students' code under Landlock, with no network",
        ),
        Err(why) => Check::warn(
            NAME,
            format!("not available: {why:#}"),
            "only instructors need it: grade on Linux 5.13 or newer with unprivileged user \
             namespaces, or inside a throwaway VM with --unconfined",
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Warn,
    Fail,
    Skip,
}

/// The outcome of one check: what was found and, when it is not right, what to do.
pub struct Check {
    pub status: Status,
    pub name: &'static str,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            status: Status::Pass,
            name,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            status: Status::Fail,
            name,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            status: Status::Warn,
            ..Check::fail(name, detail, fix)
        }
    }

    fn skip(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            status: Status::Skip,
            ..Check::pass(name, detail)
        }
    }
}

/// Prints each check as it finishes (the build can take minutes) and remembers any failure.
#[derive(Default)]
struct Report {
    failed: usize,
    warned: usize,
}

impl Report {
    fn add(&mut self, check: Check) {
        let mark = match check.status {
            Status::Pass => "✔".green().bold(),
            Status::Warn => "!".yellow().bold(),
            Status::Fail => "✘".red().bold(),
            Status::Skip => "-".dimmed(),
        };
        match check.status {
            Status::Fail | Status::Skip => self.failed += 1,
            Status::Warn => self.warned += 1,
            Status::Pass => {}
        }
        outln!("  {mark} {:<22} {}", check.name, check.detail);
        if let Some(fix) = check.fix {
            outln!("    {:<22} {} {fix}", "", "fix:".bold());
        }
    }

    fn finish(self) -> ExitCode {
        outln!();
        if self.failed == 0 {
            let note = match self.warned {
                0 => String::new(),
                n => format!(" ({n} warning{})", if n == 1 { "" } else { "s" }),
            };
            outln!("{}{note}", "Ready for the workshop.".green().bold());
        } else {
            outln!(
                "{}",
                format!("Not ready: {} check(s) need attention.", self.failed)
                    .red()
                    .bold()
            );
        }
        exit::from_passed(self.failed == 0)
    }
}

/// Where cargo builds (CARGO_TARGET_DIR, config or target/), and its build directory when the
/// toolchain reports a separate one; cargo itself knows best.
fn target_dirs(root: &Path) -> Vec<PathBuf> {
    let output = offline::cargo_command()
        .current_dir(root)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    let metadata: Option<serde_json::Value> = output
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| serde_json::from_slice(&o.stdout).ok());
    let mut dirs: Vec<PathBuf> = ["target_directory", "build_directory"]
        .iter()
        .filter_map(|key| metadata.as_ref()?[key].as_str().map(PathBuf::from))
        .collect();
    dirs.dedup();
    if dirs.is_empty() {
        dirs.push(
            std::env::var_os("CARGO_TARGET_DIR")
                .map(|dir| root.join(dir))
                .unwrap_or_else(|| root.join("target")),
        );
    }
    dirs
}

/// Every crate this machine builds must be on disk already: in vendor/, or in cargo's cache.
fn offline_dependencies(root: &Path, tools: &toolchain::Tools) -> Check {
    const NAME: &str = "offline dependencies";
    let vendored = offline::is_prepared(root);
    let mut fetch = offline::cargo_command();
    fetch
        .current_dir(root)
        .args(["fetch", "--offline", "--locked"]);
    // Only this machine's platform: a crate for another one is never built here.
    if let Some(host) = &tools.host {
        fetch.args(["--target", host]);
    }
    let output = match fetch.stdin(std::process::Stdio::null()).output() {
        Ok(output) => output,
        Err(e) => return Check::fail(NAME, format!("cannot run cargo: {e}"), INSTALL_RUST),
    };
    if output.status.success() {
        let from = if vendored {
            let (crates, bytes) = offline::vendor_size(&root.join(offline::VENDOR_DIR));
            format!(
                "in {}/ ({crates} crates, {})",
                offline::VENDOR_DIR,
                offline::megabytes(bytes)
            )
        } else {
            "in cargo's download cache".to_string()
        };
        return Check::pass(NAME, format!("every crate is {from}; no network needed"));
    }
    let error = offline::cargo_error(&output);
    let first_line = error.lines().next().unwrap_or_default().to_string();
    let fix = if vendored {
        "vendor/ does not match Cargo.lock: copy the prepared repository again, or with network \
         run `cargo kata offline` again"
    } else {
        "while you still have network, run `cargo fetch` (or `cargo kata offline` to keep every \
         crate in vendor/)"
    };
    Check::fail(NAME, format!("missing without network: {first_line}"), fix)
}

pub const INSTALL_RUST: &str = "install Rust with rustup (https://rustup.rs)";

/// rust-analyzer must build into a folder of its own, or the editor holds `cargo kata`'s lock.
fn editor_target_dir(root: &Path) -> Check {
    const NAME: &str = "editor target dir";
    let toml_file = root.join("rust-analyzer.toml");
    let vscode_file = root.join(".vscode").join("settings.json");
    let toml_setting = std::fs::read_to_string(&toml_file).ok().map(|text| {
        let table: Option<toml::Table> = text.parse().ok();
        table
            .as_ref()
            .and_then(|t| t.get("cargo")?.get("targetDir"))
            .is_some_and(|value| {
                value.as_bool() == Some(true) || value.as_str().is_some_and(|s| !s.is_empty())
            })
    });
    let vscode_setting = std::fs::read_to_string(&vscode_file)
        .ok()
        .map(|text| vscode_sets_target_dir(&text));
    let fix = "restore the repository's settings: `git checkout -- rust-analyzer.toml .vscode/settings.json` \
               (they set rust-analyzer's cargo.targetDir to true), then restart the editor";
    match (toml_setting, vscode_setting) {
        (Some(false), _) => Check::fail(
            NAME,
            "rust-analyzer.toml does not give rust-analyzer its own target dir",
            fix,
        ),
        (_, Some(false)) => Check::fail(
            NAME,
            ".vscode/settings.json does not give rust-analyzer its own target dir",
            fix,
        ),
        (None, None) => Check::warn(
            NAME,
            "rust-analyzer.toml is missing: an editor may build in target/ and hold its lock",
            fix,
        ),
        _ => Check::pass(NAME, "rust-analyzer builds in a folder of its own"),
    }
}

/// VS Code's settings are JSON with comments, so the one key is read as text: its value must be
/// `true` or a folder name.
fn vscode_sets_target_dir(text: &str) -> bool {
    const KEY: &str = "\"rust-analyzer.cargo.targetDir\"";
    let uncommented: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let Some(at) = uncommented.find(KEY) else {
        return false;
    };
    let value = uncommented[at + KEY.len()..]
        .trim_start()
        .strip_prefix(':')
        .unwrap_or("")
        .trim_start();
    value.starts_with("true") || (value.starts_with('"') && !value.starts_with("\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vscode_settings_are_read_through_comments() {
        assert!(vscode_sets_target_dir(
            "{\n  // why\n  \"rust-analyzer.cargo.targetDir\": true\n}"
        ));
        assert!(vscode_sets_target_dir(
            "{ \"rust-analyzer.cargo.targetDir\" : \"target/ra\" }"
        ));
        assert!(!vscode_sets_target_dir(
            "{ \"rust-analyzer.cargo.targetDir\": false }"
        ));
        assert!(!vscode_sets_target_dir(
            "{\n  // \"rust-analyzer.cargo.targetDir\": true\n}"
        ));
    }
}
