//! Kept fixes: the other correct fixes and the tempting wrong fixes an author tried on a kata,
//! kept next to its solution as complete `lib.rs` files so `verify` can prove, on every run,
//! that the tests still accept the one kind and reject the other.
//!
//! ```text
//! solutions/NN-slug/accepted/NAME.rs   //! Accepted: how it fixes the bug another way
//! solutions/NN-slug/rejected/NAME.rs   //! Rejected: what it gets wrong
//!                                      //! Fails: test_a, test_b
//! ```

use crate::kata::Kata;
use std::fs;
use std::path::{Path, PathBuf};

/// The fewest kept fixes of each kind a kata must have.
pub const MIN_ACCEPTED: usize = 2;
pub const MIN_REJECTED: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Accepted,
    Rejected,
}

impl Kind {
    pub fn folder(self) -> &'static str {
        match self {
            Kind::Accepted => "accepted",
            Kind::Rejected => "rejected",
        }
    }

    fn header(self) -> &'static str {
        match self {
            Kind::Accepted => "Accepted:",
            Kind::Rejected => "Rejected:",
        }
    }
}

/// One kept fix, read from its file.
#[derive(Debug, Clone)]
pub struct KeptFix {
    pub kind: Kind,
    /// The file name without `.rs`.
    pub name: String,
    /// The header's one line: how it fixes the bug, or what it gets wrong.
    pub summary: String,
    /// For a rejected fix: the tests (or `clippy::LINT`s) that must not pass on it.
    pub fails: Vec<String>,
    pub source: Vec<u8>,
}

impl KeptFix {
    /// `accepted/name.rs`, as authors see it.
    pub fn label(&self) -> String {
        format!("{}/{}.rs", self.kind.folder(), self.name)
    }
}

/// A kata's kept fixes, and what is wrong with how they are written down.
#[derive(Debug, Default)]
pub struct Found {
    pub fixes: Vec<KeptFix>,
    pub problems: Vec<String>,
}

/// Reads every kept fix of `kata`, in name order, accepted first.
pub fn discover(kata: &Kata) -> Found {
    let mut found = Found::default();
    for kind in [Kind::Accepted, Kind::Rejected] {
        let dir = kata.solution_dir.join(kind.folder());
        let files = match rust_files(&dir) {
            Ok(files) => files,
            Err(why) => {
                found.problems.push(why);
                continue;
            }
        };
        let wanted = match kind {
            Kind::Accepted => MIN_ACCEPTED,
            Kind::Rejected => MIN_REJECTED,
        };
        if files.len() < wanted {
            found.problems.push(format!(
                "kept fixes: solutions/{}/{}/ holds {} fix(es); a kata keeps at least {wanted}",
                kata.name,
                kind.folder(),
                files.len()
            ));
        }
        for path in files {
            match read_fix(kata, kind, &path) {
                Ok(fix) => found.fixes.push(fix),
                Err(why) => found.problems.push(format!(
                    "kept fixes: {}/{}: {why}",
                    kind.folder(),
                    path.file_name().unwrap_or_default().to_string_lossy()
                )),
            }
        }
    }
    found
}

/// The `.rs` files directly in `dir`, sorted; none when it does not exist.
fn rust_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(format!("cannot read {}: {err}", dir.display())),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rs") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

fn read_fix(kata: &Kata, kind: Kind, path: &Path) -> Result<KeptFix, String> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .ok_or("a kept fix's file name is lowercase letters, digits and `_`")?
        .to_string();
    let source = fs::read(path).map_err(|err| format!("cannot read it: {err}"))?;
    let text = String::from_utf8_lossy(&source);
    let header = parse_header(&text, kind)?;
    for test in &header.fails {
        let known = match test.strip_prefix("clippy::") {
            Some(lint) => kata.meta.clippy_lints.iter().any(|l| l == lint),
            None => kata.meta.tests.contains_key(test),
        };
        if !known {
            return Err(format!(
                "`Fails:` names `{test}`, which is not a test in kata.toml [tests] nor a listed clippy lint"
            ));
        }
    }
    Ok(KeptFix {
        kind,
        name,
        summary: header.summary,
        fails: header.fails,
        source,
    })
}

#[derive(Debug, PartialEq)]
struct Header {
    summary: String,
    fails: Vec<String>,
}

/// Reads the leading `//!` lines: the first says `Accepted:` or `Rejected:`, and a rejected
/// fix names the tests that catch it in a `Fails:` line.
fn parse_header(text: &str, kind: Kind) -> Result<Header, String> {
    let leading: Vec<&str> = text
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .collect();
    let summary = leading
        .first()
        .and_then(|l| l.strip_prefix(kind.header()))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("the first line must be `//! {} <one line>`", kind.header()))?
        .to_string();
    let fails_lines: Vec<&str> = leading
        .iter()
        .filter_map(|l| l.strip_prefix("Fails:"))
        .collect();
    let fails: Vec<String> = fails_lines
        .iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    match kind {
        Kind::Accepted if !fails_lines.is_empty() => {
            Err("an accepted fix passes every test: it has no `Fails:` line".into())
        }
        Kind::Rejected if fails.is_empty() => {
            Err("a rejected fix names the tests that catch it: `//! Fails: test_a, test_b`".into())
        }
        _ => Ok(Header { summary, fails }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejected_header_names_its_summary_and_tests() {
        let text =
            "//! Rejected: sleeps instead of waiting\n//! Fails: a, b_c\n//! Kata doc.\nuse x;\n";
        assert_eq!(
            parse_header(text, Kind::Rejected),
            Ok(Header {
                summary: "sleeps instead of waiting".into(),
                fails: vec!["a".into(), "b_c".into()],
            })
        );
    }

    #[test]
    fn a_header_of_the_wrong_kind_or_without_tests_is_refused() {
        assert!(parse_header("//! Rejected: x\n", Kind::Rejected).is_err());
        assert!(parse_header("//! Accepted: x\n", Kind::Rejected).is_err());
        assert!(parse_header("//! Accepted: x\n//! Fails: a\n", Kind::Accepted).is_err());
        assert!(parse_header("// Accepted: x\n", Kind::Accepted).is_err());
        assert!(parse_header("//! Accepted: \n", Kind::Accepted).is_err());
        assert!(parse_header("//! Accepted: spawns each job\n", Kind::Accepted).is_ok());
    }

    #[test]
    fn a_fails_line_after_the_leading_comment_does_not_count() {
        let text = "//! Rejected: x\nuse y;\n//! Fails: a\n";
        assert!(parse_header(text, Kind::Rejected).is_err());
    }
}
