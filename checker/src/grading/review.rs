//! The review report: what a student's kata sources do that an honest fix never needs (leaving
//! the process, writing past libtest's capture, reading files or the environment, starting
//! programs, unsafe code, linker tricks, files the kata does not ship), found by parsing the
//! sources as Rust with `syn` and compared with the handout, so that nothing the handout already
//! does is flagged. It judges nothing: it tells an instructor where to look.
//!
//! Paths are resolved through the `use` declarations of the student's crate (renames, `self`,
//! groups, globs), and the bodies of macro invocations and `macro_rules!`, which are token
//! streams to the parser, are searched token by token, so hiding a call inside `println!` or a
//! macro of one's own does not hide it.

use super::tree;
use crate::commands::until_interrupted;
use crate::kata::Kata;
use crate::process;
use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;
use syn::visit::{self, Visit};

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Concern {
    /// `std::process::exit` or `abort`: ends the test before libtest reports it.
    Exit,
    /// Writes that bypass libtest's capture: `std::io::stdout()`, raw file descriptors.
    RawOutput,
    /// `#[path = "..."]` on a module: compiles a file from anywhere.
    PathAttribute,
    /// `include!`, `include_str!`, `include_bytes!`: reads a file from anywhere at compile time.
    Include,
    Filesystem,
    /// `std::env`, `env!`, `option_env!`.
    Environment,
    /// `std::process::Command` and the rest of `std::process`, `tokio::process`.
    Subprocess,
    /// Sockets, in a kata whose reference solution and tests use none.
    Socket,
    Unsafe,
    /// `extern` blocks, crates and functions: foreign code and symbols.
    Extern,
    /// `#[link_section]`, `#[used]`: code placed where the loader runs it (constructors).
    LinkSection,
    /// `#[no_mangle]`, `#[export_name]`, `#[link_name]`: symbols that replace others.
    SymbolName,
    /// `asm!`, `global_asm!`, `#[naked]`.
    Assembly,
    /// A file the kata's handout does not have.
    AddedFile,
    /// A file the review could not read as Rust (or at all): nothing in it was checked.
    Unreadable,
}

impl Concern {
    pub fn label(self) -> &'static str {
        match self {
            Concern::Exit => "exits the process",
            Concern::RawOutput => "writes past the test harness",
            Concern::PathAttribute => "#[path] module",
            Concern::Include => "includes a file",
            Concern::Filesystem => "uses the file system",
            Concern::Environment => "reads the environment",
            Concern::Subprocess => "starts processes",
            Concern::Socket => "opens sockets",
            Concern::Unsafe => "unsafe code",
            Concern::Extern => "extern code",
            Concern::LinkSection => "linker section",
            Concern::SymbolName => "exported symbol",
            Concern::Assembly => "assembly",
            Concern::AddedFile => "added file",
            Concern::Unreadable => "unreadable file",
        }
    }
}

/// One thing the review found, in one student's kata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kata: String,
    /// Relative to the kata's folder: `src/lib.rs`.
    pub file: String,
    /// 1-based; 0 when the finding is about the whole file.
    pub line: usize,
    pub concern: Concern,
    /// What exactly: the path, macro or attribute as resolved.
    pub detail: String,
}

impl Finding {
    /// `src/lib.rs:12 exits the process (std::process::exit)`, without the kata.
    pub fn describe(&self) -> String {
        let place = if self.line == 0 {
            self.file.clone()
        } else {
            format!("{}:{}", self.file, self.line)
        };
        format!("{place} {} ({})", self.concern.label(), self.detail)
    }
}

/// What the review of one kata compares a student's sources with.
#[derive(Debug, Default)]
pub struct Baseline {
    /// Findings in the handout, counted by (file, concern, detail): a student's copy of them is
    /// not flagged.
    handout: HashMap<(String, Concern, String), usize>,
    handout_files: BTreeSet<String>,
    /// Concerns an honest fix may need: those the reference solution has, and sockets when the
    /// kata's tests talk to the code over them.
    allowed: BTreeSet<Concern>,
}

impl Baseline {
    pub fn of(kata: &Kata) -> Baseline {
        let handout_dir = kata.exercise_dir.join("src");
        let handout = scan_sources(&kata.name, &handout_dir);
        let mut counts = HashMap::new();
        for finding in handout.findings {
            *counts
                .entry((finding.file, finding.concern, finding.detail))
                .or_insert(0) += 1;
        }
        let mut allowed: BTreeSet<Concern> =
            scan_sources(&kata.name, &kata.solution_dir.join("src"))
                .findings
                .into_iter()
                .map(|f| f.concern)
                .filter(|c| !matches!(c, Concern::AddedFile | Concern::Unreadable))
                .collect();
        let tests = scan_sources(&kata.name, &kata.exercise_dir.join("tests"));
        if tests.findings.iter().any(|f| f.concern == Concern::Socket) {
            allowed.insert(Concern::Socket);
        }
        Baseline {
            handout: counts,
            handout_files: handout.files,
            allowed,
        }
    }
}

/// The findings in a student's `src/` of a kata that neither the handout has nor the reference
/// solution needs, in file and line order.
pub fn review(kata: &Kata, student_src: &Path, baseline: &Baseline) -> Vec<Finding> {
    let scanned = scan_sources(&kata.name, student_src);
    let mut left = baseline.handout.clone();
    let mut flagged = Vec::new();
    for finding in scanned.findings {
        if baseline.allowed.contains(&finding.concern) {
            continue;
        }
        let key = (
            finding.file.clone(),
            finding.concern,
            finding.detail.clone(),
        );
        match left.get_mut(&key) {
            Some(n) if *n > 0 => *n -= 1,
            _ => flagged.push(finding),
        }
    }
    for file in scanned.files.difference(&baseline.handout_files) {
        flagged.push(Finding {
            kata: kata.name.clone(),
            file: file.clone(),
            line: 0,
            concern: Concern::AddedFile,
            detail: if file.ends_with(".rs") {
                "not in the handout".into()
            } else {
                "not in the handout; grading does not build it".into()
            },
        });
    }
    flagged.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    flagged
}

/// What one folder of sources holds.
#[derive(Debug, Serialize, Deserialize)]
struct Scanned {
    /// Every regular file, relative to the kata folder (`src/lib.rs`).
    files: BTreeSet<String>,
    findings: Vec<Finding>,
}

/// The first argument that makes the grader a review child (see `scan_sources`).
pub const REVIEW_CHILD: &str = "__kata-review-sources";

/// Reviews `dir` in a child process: the grader itself, run with `REVIEW_CHILD`. A parser
/// recurses, and no bound on bracket nesting bounds all of its recursion (`&&&&..T`, `a=a=a..`,
/// `!!!!..x` and the like nest without brackets, and a few thousand levels overflow its stack);
/// a child that dies of it costs one unreadable finding, never the grading run.
fn scan_sources(kata: &str, dir: &Path) -> Scanned {
    const REVIEW_TIME_LIMIT: Duration = Duration::from_secs(60);
    // The findings of at most 2 MiB of sources, as JSON.
    const REVIEW_OUTPUT_CAP: usize = 16 * 1024 * 1024;
    if cfg!(test) {
        // A unit test's binary is not the grader.
        return scan_in_process(kata, dir);
    }
    let exe = if cfg!(target_os = "linux") {
        std::path::PathBuf::from("/proc/self/exe")
    } else {
        std::env::current_exe().unwrap_or_default()
    };
    let mut child = tokio::process::Command::new(exe);
    child.arg(REVIEW_CHILD).arg(kata).arg(dir);
    // Like any process the checker starts: a time limit, an output cap, nothing left behind.
    let finished = until_interrupted(async {
        Ok(process::run(child, REVIEW_TIME_LIMIT, REVIEW_OUTPUT_CAP).await?)
    });
    let scanned = finished
        .ok()
        .filter(|f| !f.timed_out && f.status.is_some_and(|s| s.success()))
        .and_then(|f| serde_json::from_str::<Scanned>(&f.stdout).ok());
    scanned.unwrap_or_else(|| {
        let top = dir
            .file_name()
            .map_or("src".into(), |n| n.to_string_lossy().into_owned());
        Scanned {
            files: BTreeSet::new(),
            findings: vec![Finding {
                kata: kata.to_string(),
                file: format!("{top}/"),
                line: 0,
                concern: Concern::Unreadable,
                detail: "the review's parser could not read these sources (nested too deeply for \
                         it, say, or too slow): nothing in them was checked"
                    .into(),
            }],
        }
    })
}

/// The review child's work: `kata` and the folder to review in its arguments, the findings as
/// JSON on its standard output.
pub fn review_child(args: &[std::ffi::OsString]) -> std::process::ExitCode {
    let [kata, dir] = args else {
        return std::process::ExitCode::FAILURE;
    };
    let scanned = scan_in_process(&kata.to_string_lossy(), Path::new(dir));
    match serde_json::to_string(&scanned) {
        Ok(json) => {
            println!("{json}");
            std::process::ExitCode::SUCCESS
        }
        Err(_) => std::process::ExitCode::FAILURE,
    }
}

/// Reads the folder as the grading tree does (same reader, same limits: a folder the tree
/// refuses is one unreadable finding here) and reviews its Rust files.
fn scan_in_process(kata: &str, dir: &Path) -> Scanned {
    let top = dir
        .file_name()
        .map_or("src".into(), |n| n.to_string_lossy().into_owned());
    let mut scanned = Scanned {
        files: BTreeSet::new(),
        findings: Vec::new(),
    };
    let unreadable = |file: String, why: String| Finding {
        kata: kata.to_string(),
        file,
        line: 0,
        concern: Concern::Unreadable,
        detail: why,
    };
    let read = match tree::read_sources(dir) {
        Ok(read) => read,
        Err(why) => {
            scanned.findings.push(unreadable(format!("{top}/"), why));
            return scanned;
        }
    };
    let shown = |relative: &Path| {
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        format!("{top}/{}", parts.join("/"))
    };
    scanned.files.extend(read.other.iter().map(|f| shown(f)));
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    for (relative, bytes) in read.rust {
        let name = shown(&relative);
        scanned.files.insert(name.clone());
        match String::from_utf8(bytes) {
            Ok(text) => {
                sources.insert(name, text);
            }
            Err(_) => scanned.findings.push(unreadable(name, "not UTF-8".into())),
        }
    }
    let parsed: Vec<(String, syn::File)> = sources
        .into_iter()
        .filter_map(|(name, text)| match syn::parse_file(&text) {
            Ok(file) => Some((name, file)),
            Err(err) => {
                let line = err.span().start().line;
                scanned.findings.push(Finding {
                    line,
                    ..unreadable(name, format!("not valid Rust: {err}"))
                });
                None
            }
        })
        .collect();
    // Names brought in by `use` anywhere in the crate, for every file: a module may re-export.
    let mut aliases = Aliases::default();
    for (_, file) in &parsed {
        aliases.visit_file(file);
    }
    for (name, file) in &parsed {
        let mut scanner = Scanner {
            kata,
            file: name,
            aliases: &aliases.names,
            findings: &mut scanned.findings,
        };
        scanner.visit_file(file);
    }
    scanned
}

/// Paths whose use is a finding, most specific first: a path is flagged by the first rule it
/// starts with (after `core` and `alloc` are read as `std`).
const RULES: &[(&str, Concern)] = &[
    ("std::process::exit", Concern::Exit),
    ("std::process::abort", Concern::Exit),
    ("std::process", Concern::Subprocess),
    ("std::os::unix::process", Concern::Subprocess),
    ("tokio::process", Concern::Subprocess),
    ("std::io::stdout", Concern::RawOutput),
    ("std::io::stderr", Concern::RawOutput),
    ("std::io::Stdout", Concern::RawOutput),
    ("std::io::Stderr", Concern::RawOutput),
    ("std::io::StdoutLock", Concern::RawOutput),
    ("std::io::StderrLock", Concern::RawOutput),
    ("tokio::io::stdout", Concern::RawOutput),
    ("tokio::io::stderr", Concern::RawOutput),
    ("tokio::io::Stdout", Concern::RawOutput),
    ("tokio::io::Stderr", Concern::RawOutput),
    ("std::os::fd", Concern::RawOutput),
    ("std::os::unix::io", Concern::RawOutput),
    ("libc::write", Concern::RawOutput),
    ("libc", Concern::Extern),
    ("std::fs", Concern::Filesystem),
    ("tokio::fs", Concern::Filesystem),
    ("std::env", Concern::Environment),
    ("std::net", Concern::Socket),
    ("std::os::unix::net", Concern::Socket),
    ("tokio::net", Concern::Socket),
    ("std::arch::asm", Concern::Assembly),
    ("std::arch::global_asm", Concern::Assembly),
    ("std::arch::naked_asm", Concern::Assembly),
];

/// Macros whose use is a finding, by their last name.
fn macro_concern(name: &str) -> Option<Concern> {
    match name {
        "include" | "include_str" | "include_bytes" => Some(Concern::Include),
        "env" | "option_env" => Some(Concern::Environment),
        "asm" | "global_asm" | "naked_asm" => Some(Concern::Assembly),
        _ => None,
    }
}

/// Attributes whose use is a finding, by name.
fn attribute_concern(name: &str) -> Option<Concern> {
    match name {
        "path" => Some(Concern::PathAttribute),
        "link_section" | "used" => Some(Concern::LinkSection),
        "no_mangle" | "export_name" | "link_name" => Some(Concern::SymbolName),
        "link" => Some(Concern::Extern),
        "naked" => Some(Concern::Assembly),
        _ => None,
    }
}

fn rule_for(path: &[String]) -> Option<(Concern, String)> {
    RULES.iter().find_map(|(rule, concern)| {
        let rule: Vec<&str> = rule.split("::").collect();
        let matches = path.len() >= rule.len() && rule.iter().zip(path).all(|(r, p)| r == p);
        matches.then(|| (*concern, path.join("::")))
    })
}

/// The rules a glob import of `prefix` could bring in: `use std::io::*` brings `stdout`.
fn glob_concerns(prefix: &[String]) -> BTreeSet<Concern> {
    if let Some((concern, _)) = rule_for(prefix) {
        return BTreeSet::from([concern]);
    }
    RULES
        .iter()
        .filter(|(rule, _)| {
            let rule: Vec<&str> = rule.split("::").collect();
            rule.len() > prefix.len() && rule.iter().zip(prefix).all(|(r, p)| r == p)
        })
        .map(|(_, concern)| *concern)
        .collect()
}

/// `core::` and `alloc::` hold what `std::` re-exports; `::std` is `std`.
fn normalized(mut path: Vec<String>) -> Vec<String> {
    if let Some(first) = path.first_mut() {
        if first == "core" || first == "alloc" {
            *first = "std".into();
        }
    }
    path
}

/// Local names brought in by `use` and `extern crate`, each with the path it stands for.
#[derive(Default)]
struct Aliases {
    names: HashMap<String, Vec<String>>,
}

impl Aliases {
    fn use_tree(&mut self, prefix: Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                let mut next = prefix;
                next.push(p.ident.to_string());
                self.use_tree(next, &p.tree);
            }
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                if name == "self" {
                    if let Some(last) = prefix.last() {
                        self.names.insert(last.clone(), prefix.clone());
                    }
                } else {
                    let mut full = prefix;
                    full.push(name.clone());
                    self.names.insert(name, full);
                }
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix;
                if r.ident != "self" {
                    full.push(r.ident.to_string());
                }
                self.names.insert(r.rename.to_string(), full);
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix.clone(), tree);
                }
            }
            syn::UseTree::Glob(_) => {}
        }
    }
}

impl<'ast> Visit<'ast> for Aliases {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(Vec::new(), &item.tree);
    }

    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        if let Some((_, rename)) = &item.rename {
            self.names
                .insert(rename.to_string(), vec![item.ident.to_string()]);
        }
    }
}

struct Scanner<'a> {
    kata: &'a str,
    file: &'a str,
    aliases: &'a HashMap<String, Vec<String>>,
    findings: &'a mut Vec<Finding>,
}

impl Scanner<'_> {
    fn flag(&mut self, concern: Concern, span: Span, detail: impl Into<String>) {
        self.findings.push(Finding {
            kata: self.kata.to_string(),
            file: self.file.to_string(),
            line: span.start().line,
            concern,
            detail: detail.into(),
        });
    }

    /// Every path `segments` may stand for: as written, and through each alias it contains
    /// (`io::stdout` after `use std::io`, `m::out` after `pub use std::io::stdout as out`).
    fn resolutions(&self, segments: &[String]) -> Vec<Vec<String>> {
        let start = segments
            .iter()
            .take_while(|s| matches!(s.as_str(), "crate" | "self" | "super"))
            .count();
        let segments = &segments[start..];
        let mut found = vec![normalized(segments.to_vec())];
        for (i, segment) in segments.iter().enumerate() {
            let Some(target) = self.aliases.get(segment) else {
                continue;
            };
            let mut path = target.clone();
            // An alias of an alias (`use std::io; use io::stdout;`), a few levels deep.
            for _ in 0..4 {
                match path.first().and_then(|f| self.aliases.get(f)) {
                    Some(outer) if outer != &path && !path.is_empty() => {
                        let mut longer = outer.clone();
                        longer.extend(path[1..].iter().cloned());
                        if longer == path {
                            break;
                        }
                        path = longer;
                    }
                    _ => break,
                }
            }
            path.extend(segments[i + 1..].iter().cloned());
            found.push(normalized(path));
        }
        found
    }

    fn check_path(&mut self, segments: &[String], span: Span) {
        let hit = self
            .resolutions(segments)
            .iter()
            .find_map(|path| rule_for(path));
        if let Some((concern, detail)) = hit {
            self.flag(concern, span, detail);
        }
    }

    fn check_macro(&mut self, name: &str, span: Span) {
        if let Some(concern) = macro_concern(name) {
            self.flag(concern, span, format!("{name}!"));
        }
    }

    fn check_attribute_name(&mut self, name: &str, span: Span) {
        if let Some(concern) = attribute_concern(name) {
            self.flag(concern, span, format!("#[{name}]"));
        }
    }

    fn use_tree(&mut self, prefix: Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                let mut next = prefix;
                next.push(p.ident.to_string());
                self.use_tree(next, &p.tree);
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix;
                if n.ident != "self" {
                    full.push(n.ident.to_string());
                }
                self.check_path(&full, n.ident.span());
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix;
                if r.ident != "self" {
                    full.push(r.ident.to_string());
                }
                self.check_path(&full, r.ident.span());
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix.clone(), tree);
                }
            }
            syn::UseTree::Glob(g) => {
                let span = g.star_token.spans[0];
                let concerns: BTreeSet<Concern> = self
                    .resolutions(&prefix)
                    .iter()
                    .flat_map(|p| glob_concerns(p))
                    .collect();
                for concern in concerns {
                    self.flag(concern, span, format!("{}::*", prefix.join("::")));
                }
            }
        }
    }

    /// A token stream the parser does not look into (a macro's body or arguments, an
    /// attribute's list): paths, macro calls, attributes, `unsafe` and `extern`, token by token.
    fn scan_tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            match &trees[i] {
                TokenTree::Group(group) => {
                    self.scan_tokens(group.stream());
                    i += 1;
                }
                TokenTree::Punct(p) if p.as_char() == '#' => {
                    let mut next = i + 1;
                    if matches!(trees.get(next), Some(TokenTree::Punct(q)) if q.as_char() == '!') {
                        next += 1;
                    }
                    if let Some(TokenTree::Group(group)) = trees.get(next) {
                        if group.delimiter() == Delimiter::Bracket {
                            for (name, span) in attribute_names(group.stream()) {
                                self.check_attribute_name(&name, span);
                            }
                        }
                    }
                    i += 1;
                }
                TokenTree::Ident(ident) => {
                    let word = ident.to_string();
                    match word.as_str() {
                        "unsafe" => self.flag(Concern::Unsafe, ident.span(), "unsafe in a macro"),
                        "extern" => self.flag(Concern::Extern, ident.span(), "extern in a macro"),
                        _ => {}
                    }
                    let (segments, end) = path_at(&trees, i);
                    let last = segments.last().cloned().unwrap_or_default();
                    let bang = matches!(trees.get(end), Some(TokenTree::Punct(p)) if p.as_char() == '!')
                        && matches!(trees.get(end + 1), Some(TokenTree::Group(_)));
                    if bang {
                        self.check_macro(&last, ident.span());
                    }
                    if segments.len() > 1 || self.aliases.contains_key(&word) {
                        self.check_path(&segments, ident.span());
                    }
                    i = end;
                }
                _ => i += 1,
            }
        }
    }
}

/// The path that starts at `trees[start]` (an identifier): its segments, and where it ends.
fn path_at(trees: &[TokenTree], start: usize) -> (Vec<String>, usize) {
    let mut segments = Vec::new();
    let mut i = start;
    while let Some(TokenTree::Ident(ident)) = trees.get(i) {
        segments.push(ident.to_string());
        let colons = matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':')
            && matches!(trees.get(i + 2), Some(TokenTree::Punct(p)) if p.as_char() == ':');
        if colons && matches!(trees.get(i + 3), Some(TokenTree::Ident(_))) {
            i += 3;
        } else {
            return (segments, i + 1);
        }
    }
    (segments, i.max(start + 1))
}

/// The names an attribute's tokens (`path = ".."`, `cfg_attr(pred, a, b)`, `unsafe(no_mangle)`)
/// apply, with where each is written.
fn attribute_names(tokens: TokenStream) -> Vec<(String, Span)> {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let Some(TokenTree::Ident(_)) = trees.first() else {
        return Vec::new();
    };
    let (segments, end) = path_at(&trees, 0);
    let span = match &trees[end.saturating_sub(1).min(trees.len() - 1)] {
        TokenTree::Ident(ident) => ident.span(),
        other => other.span(),
    };
    let name = segments.last().cloned().unwrap_or_default();
    match (name.as_str(), trees.get(end)) {
        ("cfg_attr", Some(TokenTree::Group(group))) => split_commas(group.stream())
            .into_iter()
            .skip(1)
            .flat_map(attribute_names)
            .collect(),
        ("unsafe", Some(TokenTree::Group(group))) => attribute_names(group.stream()),
        _ => vec![(name, span)],
    }
}

fn split_commas(tokens: TokenStream) -> Vec<TokenStream> {
    let mut parts = vec![TokenStream::new()];
    for tree in tokens {
        match &tree {
            TokenTree::Punct(p) if p.as_char() == ',' => parts.push(TokenStream::new()),
            _ => parts.last_mut().expect("never empty").extend([tree]),
        }
    }
    parts
}

fn names(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

impl<'ast> Visit<'ast> for Scanner<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(Vec::new(), &item.tree);
        for attr in &item.attrs {
            self.visit_attribute(attr);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if let Some(first) = path.segments.first() {
            self.check_path(&names(path), first.ident.span());
        }
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Some(last) = mac.path.segments.last() {
            self.check_macro(&last.ident.to_string(), last.ident.span());
        }
        self.scan_tokens(mac.tokens.clone());
        visit::visit_macro(self, mac);
    }

    fn visit_attribute(&mut self, attr: &'ast syn::Attribute) {
        let span = attr.pound_token.span;
        match &attr.meta {
            syn::Meta::List(list) => {
                let name = names(&list.path).pop().unwrap_or_default();
                let applied: Vec<String> = match name.as_str() {
                    "cfg_attr" => split_commas(list.tokens.clone())
                        .into_iter()
                        .skip(1)
                        .flat_map(attribute_names)
                        .map(|(n, _)| n)
                        .collect(),
                    "unsafe" => attribute_names(list.tokens.clone())
                        .into_iter()
                        .map(|(n, _)| n)
                        .collect(),
                    _ => vec![name],
                };
                for name in applied {
                    self.check_attribute_name(&name, span);
                }
                self.scan_tokens(list.tokens.clone());
            }
            meta => {
                if let Some(last) = meta.path().segments.last() {
                    self.check_attribute_name(&last.ident.to_string(), span);
                }
            }
        }
        visit::visit_attribute(self, attr);
    }

    fn visit_expr_unsafe(&mut self, expr: &'ast syn::ExprUnsafe) {
        self.flag(Concern::Unsafe, expr.unsafe_token.span, "unsafe block");
        visit::visit_expr_unsafe(self, expr);
    }

    fn visit_signature(&mut self, sig: &'ast syn::Signature) {
        if let Some(token) = &sig.unsafety {
            self.flag(
                Concern::Unsafe,
                token.span,
                format!("unsafe fn {}", sig.ident),
            );
        }
        if let Some(abi) = &sig.abi {
            self.flag(
                Concern::Extern,
                abi.extern_token.span,
                format!("extern fn {}", sig.ident),
            );
        }
        visit::visit_signature(self, sig);
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if let Some(token) = &item.unsafety {
            self.flag(Concern::Unsafe, token.span, "unsafe impl");
        }
        visit::visit_item_impl(self, item);
    }

    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        if let Some(token) = &item.unsafety {
            self.flag(
                Concern::Unsafe,
                token.span,
                format!("unsafe trait {}", item.ident),
            );
        }
        visit::visit_item_trait(self, item);
    }

    fn visit_item_foreign_mod(&mut self, item: &'ast syn::ItemForeignMod) {
        self.flag(Concern::Extern, item.abi.extern_token.span, "extern block");
        visit::visit_item_foreign_mod(self, item);
    }

    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        let detail = format!("extern crate {}", item.ident);
        self.flag(Concern::Extern, item.extern_token.span, detail);
        visit::visit_item_extern_crate(self, item);
    }

    fn visit_type_bare_fn(&mut self, ty: &'ast syn::TypeBareFn) {
        if let Some(token) = &ty.unsafety {
            self.flag(Concern::Unsafe, token.span, "unsafe fn pointer");
        }
        if let Some(abi) = &ty.abi {
            self.flag(Concern::Extern, abi.extern_token.span, "extern fn pointer");
        }
        visit::visit_type_bare_fn(self, ty);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Vec<(Concern, String)> {
        let file = syn::parse_file(text).unwrap();
        let mut aliases = Aliases::default();
        aliases.visit_file(&file);
        let mut findings = Vec::new();
        Scanner {
            kata: "k",
            file: "src/lib.rs",
            aliases: &aliases.names,
            findings: &mut findings,
        }
        .visit_file(&file);
        findings
            .into_iter()
            .map(|f| (f.concern, f.detail))
            .collect()
    }

    fn concerns(text: &str) -> BTreeSet<Concern> {
        scan(text).into_iter().map(|(c, _)| c).collect()
    }

    #[test]
    fn a_forged_transcript_is_seen_however_it_is_spelled() {
        let forged = r#"
            use std::io::{self as out, Write};
            use std::process as p;
            pub fn f() {
                let _ = writeln!(out::stdout(), "test x ... ok");
                p::exit(0);
            }"#;
        assert_eq!(
            concerns(forged),
            BTreeSet::from([Concern::RawOutput, Concern::Exit, Concern::Subprocess])
        );
        let hidden = r#"
            macro_rules! quiet { () => { ::std::process::abort() } }
            pub fn f() { println!("{}", { std::io::stderr(); 1 }); quiet!(); }"#;
        assert_eq!(
            concerns(hidden),
            BTreeSet::from([Concern::RawOutput, Concern::Exit])
        );
    }

    #[test]
    fn reading_the_solutions_and_linker_tricks_are_seen() {
        let text = r#"
            #[path = "../../../solutions/01/src/lib.rs"] mod sol;
            #[cfg_attr(all(), path = "x.rs")] mod other;
            const S: &str = include_str!("/etc/passwd");
            #[used] #[link_section = ".init_array"]
            static CTOR: extern "C" fn() = ctor;
            extern "C" fn ctor() {}
            #[unsafe(no_mangle)] pub fn g() {}
            pub fn h() -> String { std::env::var("HOME").unwrap() + env!("HOME") }
            pub fn i() { unsafe { } }
        "#;
        let found = concerns(text);
        for concern in [
            Concern::PathAttribute,
            Concern::Include,
            Concern::LinkSection,
            Concern::Extern,
            Concern::Environment,
            Concern::Unsafe,
        ] {
            assert!(found.contains(&concern), "{concern:?} in {found:?}");
        }
    }

    #[test]
    fn globs_that_could_bring_a_flagged_name_are_flagged() {
        assert_eq!(
            concerns("use std::io::*; fn f() { stdout(); }"),
            BTreeSet::from([Concern::RawOutput])
        );
        assert!(concerns("use std::sync::*; use tokio::sync::mpsc;").is_empty());
    }

    #[test]
    fn honest_code_is_not_flagged() {
        let honest = r#"
            use std::io::{self, Write};
            use std::collections::HashMap;
            #[derive(Debug)] enum Command { Get }
            #[tracing::instrument(skip(path))]
            pub async fn f(path: &str) -> io::Result<()> {
                let mut map = HashMap::new(); map.insert(Command::Get, path);
                println!("{map:?}"); tokio::task::yield_now().await; Ok(())
            }"#;
        assert_eq!(scan(honest), vec![]);
    }
}
