//! Submissions whose kata sources are nearly the same, for an instructor to look at.
//!
//! Each student's sources of a kata become a token stream with comments and whitespace gone and
//! every identifier, number and string replaced by a placeholder, so renaming variables or
//! reformatting changes nothing. What the student wrote is what their stream has beyond the
//! released code's; two students are compared on that part alone, by the share of 4-token
//! shingles they have in common (Jaccard). The released code, which everyone starts from, and
//! katas a student left as released count for nothing.

use super::class::Submission;
use super::tree;
use crate::kata::Kata;
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;

const SHINGLE: usize = 4;
/// Fewer new shingles than this is a one-line fix: many students write the same one honestly.
const SMALLEST_CHANGE: usize = 12;

#[derive(Debug, Clone, Serialize)]
pub struct SimilarPair {
    pub kata: String,
    pub student_a: String,
    pub student_b: String,
    /// 0 to 1: the share of what they wrote that is the same.
    pub score: f64,
    /// How many shingles the smaller of the two changes has.
    pub size: usize,
}

/// Pairs at or above `threshold`, most similar first.
pub fn similar_pairs(
    submissions: &[Submission],
    katas: &[&Kata],
    threshold: f64,
) -> Vec<SimilarPair> {
    let mut pairs = Vec::new();
    for kata in katas {
        let released = shingles(&source_text(&kata.exercise_dir.join("src")));
        let written: Vec<(&str, HashSet<u64>)> = submissions
            .iter()
            .filter_map(|s| {
                let text = source_text(&s.kata_sources(kata)?);
                let own: HashSet<u64> = shingles(&text).difference(&released).copied().collect();
                (own.len() >= SMALLEST_CHANGE).then_some((s.student.as_str(), own))
            })
            .collect();
        for (i, (a, mine)) in written.iter().enumerate() {
            for (b, theirs) in &written[i + 1..] {
                let shared = mine.intersection(theirs).count();
                let score = shared as f64 / mine.union(theirs).count() as f64;
                if score >= threshold {
                    pairs.push(SimilarPair {
                        kata: kata.name.clone(),
                        student_a: a.to_string(),
                        student_b: b.to_string(),
                        score,
                        size: mine.len().min(theirs.len()),
                    });
                }
            }
        }
    }
    pairs.sort_by(|x, y| y.score.total_cmp(&x.score).then(y.size.cmp(&x.size)));
    pairs
}

/// The Rust files of a folder, read as the grading tree reads them (same reader, same limits);
/// nothing for a folder the tree refuses.
fn source_text(src: &Path) -> String {
    tree::read_sources(src)
        .map(|sources| {
            sources
                .rust
                .values()
                .map(|bytes| String::from_utf8_lossy(bytes))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn shingles(text: &str) -> HashSet<u64> {
    use std::hash::{Hash, Hasher};
    let tokens = normalized_tokens(text);
    tokens
        .windows(SHINGLE)
        .map(|w| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            w.hash(&mut hasher);
            hasher.finish()
        })
        .collect()
}

/// Rust's keywords stay as they are; they carry the structure.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while",
];

/// Tokens with comments and whitespace dropped and names, numbers and strings made anonymous.
pub fn normalized_tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            tokens.push("STR".to_string());
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            tokens.push(if KEYWORDS.contains(&word.as_str()) {
                word
            } else {
                "ID".to_string()
            });
        } else if c.is_ascii_digit() {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            tokens.push("NUM".to_string());
        } else {
            tokens.push(c.to_string());
            i += 1;
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::normalized_tokens;

    #[test]
    fn renaming_and_reformatting_change_nothing() {
        let a = "let total = price * 2; // double it\nsend(total).await;";
        let b = "let   sum=cost*7;\n/* other */ send(sum)\n    .await;";
        assert_eq!(normalized_tokens(a), normalized_tokens(b));
    }

    #[test]
    fn structure_still_counts() {
        assert_ne!(normalized_tokens("x.await;"), normalized_tokens("drop(x);"));
    }
}
