//! The toolchain checks: rustc and cargo new enough for the workspace, clippy and rustfmt there.

use super::{Check, INSTALL_RUST};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The programs of the toolchain that runs the katas.
pub struct Tools {
    pub cargo: PathBuf,
    /// The folder of the real toolchain (rustup's, not its proxies) when cargo is in it.
    pub bin_dir: Option<PathBuf>,
    /// This machine's target triple, as rustc reports it.
    pub host: Option<String>,
}

impl Tools {
    pub fn find() -> Tools {
        let cargo = crate::cargo::program().unwrap_or_else(|_| PathBuf::from("cargo"));
        let bin_dir = cargo.parent().filter(|d| d.is_dir()).map(Path::to_path_buf);
        let mut tools = Tools {
            cargo,
            bin_dir,
            host: None,
        };
        tools.host = version_output(&tools.program("rustc"), &["-vV"]).and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("host: "))
                .map(str::to_string)
        });
        tools
    }

    /// A program beside cargo, as rustup installs them, else the one on PATH.
    pub fn program(&self, name: &str) -> PathBuf {
        let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
        self.bin_dir
            .as_ref()
            .map(|dir| dir.join(&file))
            .filter(|path| path.is_file())
            .unwrap_or_else(|| PathBuf::from(file))
    }
}

/// What `program args` prints, when it runs and succeeds.
fn version_output(program: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// rustc and cargo are at least the workspace's `rust-version`.
pub fn versions(root: &Path, tools: &Tools) -> Check {
    const NAME: &str = "rust toolchain";
    let needed = required_version(root);
    let mut found = Vec::new();
    for (tool, program) in [
        ("rustc", tools.program("rustc")),
        ("cargo", tools.cargo.clone()),
    ] {
        let Some(line) = version_output(&program, &["--version"]) else {
            return Check::fail(NAME, format!("{tool} does not run"), INSTALL_RUST);
        };
        let Some(version) = line.split_whitespace().nth(1).and_then(parse_version) else {
            return Check::fail(
                NAME,
                format!("cannot read {tool}'s version from `{line}`"),
                INSTALL_RUST,
            );
        };
        found.push((tool, version));
    }
    let shown = found
        .iter()
        .map(|(tool, v)| format!("{tool} {}", show(*v)))
        .collect::<Vec<_>>()
        .join(", ");
    let Some(needed) = needed else {
        return Check::pass(NAME, format!("{shown} (the workspace asks for no minimum)"));
    };
    let too_old: Vec<&str> = found
        .iter()
        .filter(|(_, v)| *v < needed)
        .map(|(tool, _)| *tool)
        .collect();
    if too_old.is_empty() {
        Check::pass(NAME, format!("{shown} ({} or newer needed)", show(needed)))
    } else {
        Check::fail(
            NAME,
            format!(
                "{shown}: {} too old, the katas need {} or newer",
                too_old.join(" and "),
                show(needed)
            ),
            "run `rustup update stable` (while you have network)",
        )
    }
}

/// clippy checks some katas and rustfmt is what editors format with.
pub fn components(tools: &Tools) -> Check {
    const NAME: &str = "clippy and rustfmt";
    let missing: Vec<&str> = ["clippy-driver", "rustfmt"]
        .into_iter()
        .filter(|name| version_output(&tools.program(name), &["--version"]).is_none())
        .map(|name| name.trim_end_matches("-driver"))
        .collect();
    if missing.is_empty() {
        Check::pass(NAME, "both installed")
    } else {
        Check::fail(
            NAME,
            format!("not installed: {}", missing.join(", ")),
            format!(
                "run `rustup component add {}` (while you have network)",
                missing.join(" ")
            ),
        )
    }
}

/// The `rust-version` the workspace (or the root package) declares.
fn required_version(root: &Path) -> Option<(u64, u64, u64)> {
    let text = std::fs::read_to_string(root.join("Cargo.toml")).ok()?;
    let manifest: toml::Table = text.parse().ok()?;
    let declared = manifest
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("rust-version"))
        .or_else(|| manifest.get("package")?.get("rust-version"))?;
    parse_version(declared.as_str()?)
}

/// `1.89`, `1.89.0` or `1.91.0-nightly` as (major, minor, patch).
fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let numbers = text.split(['-', '+']).next()?;
    let mut parts = numbers.split('.').map(|p| p.parse::<u64>());
    let major = parts.next()?.ok()?;
    let minor = parts.next().unwrap_or(Ok(0)).ok()?;
    let patch = parts.next().unwrap_or(Ok(0)).ok()?;
    Some((major, minor, patch))
}

fn show((major, minor, patch): (u64, u64, u64)) -> String {
    format!("{major}.{minor}.{patch}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_number() {
        assert_eq!(parse_version("1.89"), Some((1, 89, 0)));
        assert_eq!(parse_version("1.91.0-nightly"), Some((1, 91, 0)));
        assert!(parse_version("1.100.0") > parse_version("1.89"));
        assert_eq!(parse_version("one"), None);
    }
}
