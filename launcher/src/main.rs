//! `cargo kata`: the entry point the cargo alias runs.
//!
//! It makes sure the checker is built, then becomes it. When the checker needs building (the first
//! run, an update), cargo builds it in full view, with its own progress bar. Otherwise the launcher
//! only compares modification times, which costs far less than `cargo run` checking the
//! freshness of the checker and every crate under it before each command.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::SystemTime;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let root = repository_root();
    let checker = checker_path(&root);
    if !fresh(&root, &checker) {
        if let Err(code) = build_checker(&root) {
            return code;
        }
        write_stamp(&root, &checker);
    }
    hand_over(&checker, &args)
}

/// The workspace root: this crate's folder is one of its members.
fn repository_root() -> PathBuf {
    // `cargo run` says where the launcher's manifest is; the value baked in at build time is
    // the fallback for a launcher started by hand.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map_or(manifest_dir.clone(), Path::to_path_buf)
}

/// Where cargo puts the checker: beside this launcher, which the same cargo, with the same
/// settings (a target directory from the environment or from any cargo configuration), has just
/// built. The guess from the repository's own layout is only for a launcher started by hand.
fn checker_path(root: &Path) -> PathBuf {
    let name = format!("checker{}", std::env::consts::EXE_SUFFIX);
    match std::env::current_exe() {
        Ok(launcher) if launcher.parent().is_some() => launcher.with_file_name(name),
        _ => root.join("target").join("debug").join(name),
    }
}

/// Whether the checker was built, by this launcher and for this repository, after every change to
/// what it is built from: its sources and those of the workspace crates it uses (cargo lists them
/// in the binary's dep-info file), the manifests, the lock file and cargo's configuration.
/// Anything missing means "build"; cargo then decides what really needs compiling.
fn fresh(root: &Path, checker: &Path) -> bool {
    let Some(built) = stamp(checker)
        .filter(|(for_root, _)| for_root == root)
        .map(|(_, at)| at)
    else {
        return false;
    };
    if !checker.is_file() {
        return false;
    }
    let Ok(dep_info) = std::fs::read_to_string(checker.with_extension("d")) else {
        return false;
    };
    let sources = dep_info_sources(&dep_info);
    // Built somewhere else (the repository was moved or copied): let cargo see to it.
    if sources.is_empty() || sources.iter().any(|source| !source.starts_with(root)) {
        return false;
    }
    let package_manifests = sources.iter().filter_map(|source| {
        source
            .ancestors()
            .skip(1)
            .take_while(|dir| *dir != root)
            .map(|dir| dir.join("Cargo.toml"))
            .find(|manifest| manifest.is_file())
    });
    let workspace = ["Cargo.toml", "Cargo.lock"].map(|file| root.join(file));
    let unchanged = |input: &PathBuf| modified(input).is_some_and(|changed| changed <= built);
    let config = root.join(".cargo").join("config.toml");
    sources.iter().all(unchanged)
        && package_manifests.collect::<Vec<_>>().iter().all(unchanged)
        && workspace.iter().all(unchanged)
        && (!config.exists() || unchanged(&config))
}

/// The files a dep-info file (`target: source source ...`) lists for its first target. Make's
/// syntax: a space inside a path is escaped (`\ `), so a checkout under `/home/Jane Doe` works.
fn dep_info_sources(dep_info: &str) -> Vec<PathBuf> {
    let first_rule = dep_info.lines().next().unwrap_or("");
    let Some((_, list)) = first_rule.split_once(": ") else {
        return Vec::new();
    };
    let mut sources = Vec::new();
    let mut path = String::new();
    let mut chars = list.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(' ') => path.push(' '),
                Some(other) => {
                    path.push('\\');
                    path.push(other);
                }
                None => path.push('\\'),
            },
            c if c.is_whitespace() => {
                if !path.is_empty() {
                    sources.push(PathBuf::from(std::mem::take(&mut path)));
                }
            }
            c => path.push(c),
        }
    }
    if !path.is_empty() {
        sources.push(PathBuf::from(path));
    }
    sources
}

/// The launcher's note, beside the binary, of which repository it last built the checker for and
/// when: cargo may find nothing to rebuild after a change that does not concern the checker (a
/// kata's manifest, say), and the binary then keeps its old time.
fn stamp_path(checker: &Path) -> PathBuf {
    checker.with_extension("launcher-stamp")
}

fn stamp(checker: &Path) -> Option<(PathBuf, SystemTime)> {
    let path = stamp_path(checker);
    let root = std::fs::read_to_string(&path).ok()?;
    Some((PathBuf::from(root.trim_end()), modified(&path)?))
}

fn write_stamp(root: &Path, checker: &Path) {
    // Without it the next command only asks cargo again.
    let _ = std::fs::write(stamp_path(checker), format!("{}\n", root.display()));
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Builds the checker with cargo's own progress on the terminal.
fn build_checker(root: &Path) -> Result<(), ExitCode> {
    eprintln!("Preparing the checker (the first time takes a minute or two; after that, only after an update)...");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // From the folder `cargo kata` was typed in, as `cargo run` of this launcher was: a relative
    // target directory then means the same folder, and the checker lands beside the launcher.
    let status = Command::new(cargo)
        .arg("build")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args(["--package", "checker", "--bin", "checker"])
        .status();
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => {
            eprintln!("error: the checker did not build; cargo's messages above say why");
            Err(exit_code(status.code()))
        }
        Err(err) => {
            eprintln!("error: cannot start cargo to build the checker: {err}");
            Err(ExitCode::from(2))
        }
    }
}

/// Runs the checker with our arguments: on Unix it replaces this process, so signals, the
/// terminal and the exit status are the checker's own.
#[cfg(unix)]
fn hand_over(checker: &Path, args: &[OsString]) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let err = Command::new(checker).args(args).exec();
    eprintln!("error: cannot start {}: {err}", checker.display());
    ExitCode::from(2)
}

#[cfg(not(unix))]
fn hand_over(checker: &Path, args: &[OsString]) -> ExitCode {
    match Command::new(checker).args(args).status() {
        Ok(status) => exit_code(status.code()),
        Err(err) => {
            eprintln!("error: cannot start {}: {err}", checker.display());
            ExitCode::from(2)
        }
    }
}

fn exit_code(code: Option<i32>) -> ExitCode {
    ExitCode::from(code.and_then(|c| u8::try_from(c).ok()).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::dep_info_sources;
    use std::path::PathBuf;

    #[test]
    fn dep_info_paths_may_hold_spaces() {
        let dep_info = "/home/Jane\\ Doe/kata/target/debug/checker: /home/Jane\\ Doe/kata/checker/src/main.rs /home/Jane\\ Doe/kata/checker/src/lib.rs\n\n/home/Jane\\ Doe/kata/checker/src/main.rs:\n";
        assert_eq!(
            dep_info_sources(dep_info),
            [
                PathBuf::from("/home/Jane Doe/kata/checker/src/main.rs"),
                PathBuf::from("/home/Jane Doe/kata/checker/src/lib.rs"),
            ]
        );
    }
}
