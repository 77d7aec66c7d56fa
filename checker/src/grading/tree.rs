//! Where grading builds, and what it builds from.
//!
//! - **The handout**, `target/grading/handout/`: every graded kata as released, kept between runs
//!   (files are rewritten only when they change). Built once, unconfined, into
//!   `target/grading/deps/`: that is where the dependencies are compiled, once for every run.
//! - **Each student's workspace**, in a work folder outside the instructor's checkout (a new
//!   temporary folder, or `--work-dir`): a cargo workspace of its own per student, holding the
//!   instructor's manifests and tests, the hidden tests, the lock file, and the student's
//!   `src/*.rs`. Nothing else of the student's is copied: only regular Rust files inside `src/`,
//!   up to a size limit; a symlink, a device or anything too large is refused and reported. No
//!   reference solution is anywhere near it.
//! - **Each student's build output**, `target/grading/students/<slot>/`: seeded with hard links to
//!   the compiled dependencies (cargo finds them fresh and compiles only the student's crates),
//!   and deleted once the student's tests have run.

use super::class::{KataFolder, Submission};
use crate::commands::offline;
use crate::kata::Kata;
use crate::scratch;
use crate::snapshots::walk;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The limits of every reading of a folder of sources (the grading tree, the review, the
/// similarity report): the largest Rust file taken, the most Rust a folder may hold, the most
/// files of any kind, and the deepest folder.
const MAX_FILE_BYTES: u64 = 512 * 1024;
const MAX_KATA_BYTES: u64 = 2 * 1024 * 1024;
const MAX_FILES: usize = 500;
/// Deeper than any honest `src/` goes.
const MAX_DEPTH: usize = 8;

/// Hidden tests of one kata: `HIDDEN/NN-slug/*.rs`, with `HIDDEN/NN-slug/hidden.toml` giving
/// each test's points in a `[tests]` table, as in `kata.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HiddenPoints {
    tests: BTreeMap<String, u32>,
}

/// A kata as graded: its metadata with the hidden tests added, and the files of those tests.
pub struct GradedKata {
    pub kata: Kata,
    hidden_files: Vec<PathBuf>,
}

impl GradedKata {
    pub fn has_hidden_tests(&self) -> bool {
        !self.hidden_files.is_empty()
    }
}

/// Adds the hidden tests found under `hidden` (if any) to each kata.
pub fn with_hidden_tests(katas: &[&Kata], hidden: Option<&Path>) -> Result<Vec<GradedKata>> {
    katas
        .iter()
        .map(|&kata| {
            let mut graded = GradedKata {
                kata: kata.clone(),
                hidden_files: Vec::new(),
            };
            let Some(dir) = hidden.map(|h| h.join(&kata.name)).filter(|d| d.is_dir()) else {
                return Ok(graded);
            };
            let points_file = dir.join("hidden.toml");
            let text = fs::read_to_string(&points_file).with_context(|| {
                format!(
                    "hidden tests need {} naming each test's points",
                    points_file.display()
                )
            })?;
            let points: HiddenPoints = toml::from_str(&text)
                .with_context(|| format!("{} is not valid", points_file.display()))?;
            for name in points.tests.keys() {
                if kata.meta.tests.contains_key(name) {
                    bail!(
                        "hidden test `{name}` of {} has the name of a released test",
                        kata.name
                    );
                }
            }
            graded.kata.meta.tests.extend(points.tests);
            graded.hidden_files = walk(&dir)?
                .into_iter()
                .filter(|f| f.extension().is_some_and(|e| e == "rs"))
                .collect();
            Ok(graded)
        })
        .collect()
}

/// The folders of one grading run.
pub struct Grounds {
    repo_root: PathBuf,
    /// `target/grading` in the instructor's build output.
    grading: PathBuf,
    /// The students' workspaces: outside the checkout.
    work: PathBuf,
    /// Removed when grading ends (a temporary folder, not `--work-dir`).
    temporary: bool,
    /// The names in the repository's `[workspace.dependencies]`.
    workspace_dependencies: Vec<String>,
}

/// One student's workspace, laid out.
pub struct StudentTree {
    pub root: PathBuf,
    pub target: PathBuf,
    pub tmp: PathBuf,
    pub crates: Vec<Crate>,
    /// Problems with the student's files, each costing only that kata.
    pub problems: Vec<String>,
}

/// One crate of a workspace: a kata with somebody's `src/`.
pub struct Crate {
    pub kata: usize,
    pub package: String,
    pub dir: PathBuf,
}

/// Marks a folder as a grading work folder, which a later run may clear.
const MARKER: &str = ".kata-grading-workspace";

impl Grounds {
    /// Prepares the folders: `work_dir` if given (it must be empty or an earlier grading work
    /// folder), else a new temporary folder outside the checkout.
    pub fn prepare(repo_root: &Path, target: &Path, work_dir: Option<&Path>) -> Result<Grounds> {
        let grading = target.join("grading");
        let (work, temporary) = match work_dir {
            Some(dir) => (outside_the_checkout(repo_root, dir)?, false),
            None => (unique_temporary_dir()?, true),
        };
        if !temporary {
            clear_work_dir(&work)?;
        }
        fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
        fs::write(
            work.join(MARKER),
            "made by `cargo kata grade`; cleared by the next run\n",
        )
        .with_context(|| format!("cannot write in {}", work.display()))?;
        // Build output of students from an interrupted run.
        let _ = fs::remove_dir_all(grading.join("students"));
        let grounds = Grounds {
            repo_root: repo_root.to_path_buf(),
            grading,
            work,
            temporary,
            workspace_dependencies: workspace_dependencies(repo_root)?,
        };
        scratch::write_cargo_config(repo_root, &grounds.work)?;
        Ok(grounds)
    }

    pub fn work(&self) -> &Path {
        &self.work
    }

    /// Where the handout's build puts the compiled dependencies.
    pub fn deps_target(&self) -> PathBuf {
        self.grading.join("deps")
    }

    /// The handout: every graded kata as released, as one workspace that stays between runs.
    pub fn lay_out_handout(&self, katas: &[GradedKata]) -> Result<StudentTree> {
        let root = self.grading.join("handout");
        scratch::write_workspace(&self.repo_root, &root, &["*"])?;
        // The build directory may be outside the repository, where cargo would miss its
        // configuration (the vendored crates of an offline room).
        scratch::write_cargo_config(&self.repo_root, &root)?;
        let mut crates = Vec::new();
        for (index, graded) in katas.iter().enumerate() {
            let lib = fs::read(graded.kata.exercise_dir.join("src").join("lib.rs"))
                .with_context(|| format!("cannot read the handout of {}", graded.kata.name))?;
            let dir = root.join(&graded.kata.name);
            // Its own package names: the handout's build output is shared by hard links, and a
            // student's build must never write over a file of it.
            let package = format!("handout-{}", graded.kata.name);
            let mut files = scratch::kata_crate(&graded.kata, &package, &lib)?;
            self.depend_on_everything(&mut files)?;
            add_hidden_tests(graded, &mut files)?;
            scratch::sync_dir(&dir, &files)?;
            crates.push(Crate {
                kata: index,
                package,
                dir,
            });
        }
        Ok(StudentTree {
            target: self.deps_target(),
            tmp: self.work.join("tmp").join("handout"),
            root,
            crates,
            problems: Vec::new(),
        })
    }

    /// A student's workspace, with their sources laid over the instructor's katas.
    pub fn lay_out_student(
        &self,
        slot: &str,
        submission: &Submission,
        katas: &[GradedKata],
    ) -> Result<StudentTree> {
        let root = self.work.join("students").join(slot);
        scratch::write_workspace(&self.repo_root, &root, &["*"])?;
        let mut crates = Vec::new();
        let mut problems = Vec::new();
        for (index, graded) in katas.iter().enumerate() {
            let kata = &graded.kata.name;
            let src = match submission.kata_folder(&graded.kata) {
                KataFolder::Missing => continue,
                KataFolder::Refused(why) => {
                    problems.push(format!("{kata}: {why}"));
                    continue;
                }
                KataFolder::Sources(src) => src,
            };
            let sources = match read_sources(&src) {
                Ok(sources) => sources.rust,
                Err(why) => {
                    problems.push(format!("{kata}: {why}"));
                    continue;
                }
            };
            let Some(lib) = sources.get(Path::new("lib.rs")) else {
                problems.push(format!("{kata}: src/lib.rs is missing"));
                continue;
            };
            let package = package_name(&graded.kata);
            let mut files = scratch::kata_crate(&graded.kata, &package, lib)?;
            self.depend_on_everything(&mut files)?;
            for (relative, bytes) in &sources {
                files.insert(Path::new("src").join(relative), bytes.clone());
            }
            add_hidden_tests(graded, &mut files)?;
            let dir = root.join(kata);
            scratch::sync_dir(&dir, &files)?;
            crates.push(Crate {
                kata: index,
                package,
                dir,
            });
        }
        let tmp = self.work.join("tmp").join(slot);
        fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        Ok(StudentTree {
            root,
            target: self.grading.join("students").join(slot),
            tmp,
            crates,
            problems,
        })
    }

    /// Gives a student's build output the compiled dependencies, as hard links (a copy where
    /// links cannot be made): cargo then compiles only the student's own crates.
    pub fn seed_target(&self, tree: &StudentTree) -> Result<()> {
        let from = self.deps_target().join("debug");
        let to = tree.target.join("debug");
        for part in ["deps", "build", ".fingerprint"] {
            link_tree(&from.join(part), &to.join(part))?;
        }
        Ok(())
    }

    /// Gives a crate every dependency of the workspace. Cargo picks the features of shared
    /// dependencies (syn, tokio, ...) from the packages a build selects; with every crate
    /// depending on everything, any selection (a student's few katas, the katas with lints,
    /// what is left once identical submissions are set aside) compiles the dependencies exactly
    /// as the handout's build did, and so reuses them instead of compiling them again.
    fn depend_on_everything(&self, files: &mut BTreeMap<PathBuf, Vec<u8>>) -> Result<()> {
        let path = PathBuf::from("Cargo.toml");
        let text = String::from_utf8(files[&path].clone()).context("a manifest is UTF-8")?;
        let mut manifest: toml::Table = toml::from_str(&text)?;
        let dependencies = manifest
            .entry("dependencies")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .context("[dependencies] is a table")?;
        for name in &self.workspace_dependencies {
            if !dependencies.contains_key(name) {
                let mut inherited = toml::Table::new();
                inherited.insert("workspace".into(), true.into());
                dependencies.insert(name.clone(), inherited.into());
            }
        }
        files.insert(path, toml::to_string(&manifest)?.into_bytes());
        Ok(())
    }

    /// The vendored crates, which confined builds must be able to read.
    pub fn vendor_dir(&self) -> Option<PathBuf> {
        offline::is_prepared(&self.repo_root).then(|| self.repo_root.join(offline::VENDOR_DIR))
    }

    /// Frees what a student's grading used: their build output and temporary folder. Their
    /// workspace stays with `--work-dir`.
    pub fn finish_student(&self, tree: &StudentTree) {
        let _ = fs::remove_dir_all(&tree.target);
        let _ = fs::remove_dir_all(&tree.tmp);
    }
}

impl Drop for Grounds {
    fn drop(&mut self) {
        // Students' sources never outlive a run that was not asked to keep them, however it
        // ended (an error, Ctrl-C).
        if self.temporary {
            let _ = fs::remove_dir_all(&self.work);
        }
        let _ = fs::remove_dir_all(self.grading.join("students"));
    }
}

fn workspace_dependencies(repo_root: &Path) -> Result<Vec<String>> {
    let path = repo_root.join("Cargo.toml");
    let manifest: toml::Table = toml::from_str(
        &fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?,
    )?;
    Ok(manifest
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(|d| d.as_table())
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default())
}

/// Every student crate of a kata has the same package name: each student is a workspace of their
/// own, with build output of their own.
fn package_name(kata: &Kata) -> String {
    format!("grade-{}", kata.name)
}

fn add_hidden_tests(graded: &GradedKata, files: &mut BTreeMap<PathBuf, Vec<u8>>) -> Result<()> {
    for file in &graded.hidden_files {
        let name = file
            .file_name()
            .expect("a file has a name")
            .to_string_lossy();
        let bytes = fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        files.insert(Path::new("tests").join(format!("hidden_{name}")), bytes);
    }
    Ok(())
}

/// A folder of sources, read within the limits.
#[derive(Debug, Default)]
pub struct Sources {
    /// The Rust files, by path relative to the folder, with their contents.
    pub rust: BTreeMap<PathBuf, Vec<u8>>,
    /// Every other regular file, by path relative to the folder: listed, never read.
    pub other: BTreeSet<PathBuf>,
}

/// The one reader of a folder of sources (a student's `src/`, and whatever the review compares it
/// with): regular files only, each and all of them within the limits. A symlink (to a solution,
/// to /etc/passwd), a device, a file too large, too many files or a tree too deep is refused,
/// with the reason, and nothing of the folder is taken.
pub fn read_sources(dir: &Path) -> Result<Sources, String> {
    let top = dir
        .file_name()
        .map_or("src".into(), |n| n.to_string_lossy().into_owned());
    let kind = fs::symlink_metadata(dir).map_err(|e| format!("cannot read {top}/: {e}"))?;
    if kind.file_type().is_symlink() {
        return Err(format!("{top}/ is a symbolic link: refused"));
    }
    let mut reading = Reading {
        root: dir,
        top: &top,
        sources: Sources::default(),
        total: 0,
    };
    reading.folder(dir, 0)?;
    Ok(reading.sources)
}

struct Reading<'a> {
    root: &'a Path,
    top: &'a str,
    sources: Sources,
    /// Bytes of Rust read so far.
    total: u64,
}

impl Reading<'_> {
    fn shown(&self, path: &Path) -> String {
        let relative = path.strip_prefix(self.root).unwrap_or(path);
        format!("{}/{}", self.top, relative.display())
    }

    fn folder(&mut self, dir: &Path, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("{} is nested too deeply: refused", self.shown(dir)));
        }
        let entries =
            fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", self.shown(dir)))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", self.shown(dir)))?;
            let path = entry.path();
            // The entry itself, never what a link points to.
            let kind = entry
                .file_type()
                .map_err(|e| format!("cannot read {}: {e}", self.shown(&path)))?;
            if kind.is_symlink() {
                return Err(format!("{} is a symbolic link: refused", self.shown(&path)));
            }
            if kind.is_dir() {
                self.folder(&path, depth + 1)?;
                continue;
            }
            if !kind.is_file() {
                return Err(format!(
                    "{} is not a regular file (a device, a pipe or a socket): refused",
                    self.shown(&path)
                ));
            }
            if self.sources.rust.len() + self.sources.other.len() >= MAX_FILES {
                return Err(format!(
                    "{} makes more than {MAX_FILES} files: refused",
                    self.shown(&path)
                ));
            }
            let relative = path
                .strip_prefix(self.root)
                .expect("walked inside")
                .to_path_buf();
            if path.extension().is_none_or(|e| e != "rs") {
                self.sources.other.insert(relative);
                continue;
            }
            let size = entry
                .metadata()
                .map_err(|e| format!("cannot read {}: {e}", self.shown(&path)))?
                .len();
            self.total += size;
            if size > MAX_FILE_BYTES || self.total > MAX_KATA_BYTES {
                return Err(format!(
                    "{} makes the sources larger than grading takes ({} KiB a file, {} KiB in all): refused",
                    self.shown(&path),
                    MAX_FILE_BYTES / 1024,
                    MAX_KATA_BYTES / 1024
                ));
            }
            // Never more than the size just checked, should the file grow meanwhile.
            let mut bytes = Vec::new();
            fs::File::open(&path)
                .and_then(|file| file.take(size).read_to_end(&mut bytes))
                .map_err(|e| format!("cannot read {}: {e}", self.shown(&path)))?;
            self.sources.rust.insert(relative, bytes);
        }
        Ok(())
    }
}

/// Hard links of every file under `from` at the same places under `to`; copies where the two are
/// on different filesystems.
fn link_tree(from: &Path, to: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(from) else {
        return Ok(());
    };
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", from.display()))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            link_tree(&source, &target)?;
        } else if kind.is_file() && fs::hard_link(&source, &target).is_err() {
            fs::copy(&source, &target).with_context(|| {
                format!("cannot copy {} to {}", source.display(), target.display())
            })?;
        }
    }
    Ok(())
}

/// `dir`, made absolute, when it is outside the instructor's checkout. Inside it, a student's
/// path could reach the solutions, and cargo would read the checkout's own configuration, which
/// a confined build may not.
fn outside_the_checkout(repo_root: &Path, dir: &Path) -> Result<PathBuf> {
    let absolute = std::path::absolute(dir)
        .with_context(|| format!("cannot make {} absolute", dir.display()))?;
    // The folder may not exist yet: judge by its nearest existing ancestor.
    let existing = absolute
        .ancestors()
        .find(|a| a.exists())
        .and_then(|a| a.canonicalize().ok())
        .unwrap_or_else(|| absolute.clone());
    let root = repo_root
        .canonicalize()
        .unwrap_or_else(|_| repo_root.to_path_buf());
    if existing.starts_with(&root) {
        bail!(
            "--work-dir {} is inside the repository ({}): choose a folder outside it, where no \
             student's code can reach your solutions",
            dir.display(),
            root.display()
        );
    }
    Ok(absolute)
}

/// A new folder for the students' workspaces, in the system's temporary folder: never inside the
/// instructor's checkout, where a student's path could reach the solutions.
fn unique_temporary_dir() -> Result<PathBuf> {
    let base = std::env::temp_dir();
    let pid = std::process::id();
    for n in 0..1000 {
        let dir = base.join(format!("kata-grading-{pid}-{n}"));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(err) => {
                return Err(err).with_context(|| format!("cannot create {}", dir.display()))
            }
        }
    }
    bail!("cannot find a free name for a folder in {}", base.display())
}

/// Empties `root` for a new run, but only if it is a grading work folder or empty: a mistyped
/// `--work-dir` must never delete anyone's files.
fn clear_work_dir(root: &Path) -> Result<()> {
    let is_empty = |dir: &Path| fs::read_dir(dir).is_ok_and(|mut e| e.next().is_none());
    if root.exists() {
        if !root.join(MARKER).is_file() && !is_empty(root) {
            bail!(
                "{} is not empty and not a grading workspace: choose another --work-dir",
                root.display()
            );
        }
        fs::remove_dir_all(root).with_context(|| format!("cannot clear {}", root.display()))?;
    }
    Ok(())
}

/// A folder and workspace name for each student: lowercase letters, digits and dashes, unique
/// even when two names clean up to the same thing.
pub fn student_slots(submissions: &[Submission]) -> Vec<String> {
    let mut taken = HashSet::new();
    submissions
        .iter()
        .map(|s| {
            let cleaned: String = s
                .student
                .to_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let base = format!("s-{}", cleaned.trim_matches('-'));
            let slot = (1..)
                .map(|n| {
                    if n == 1 {
                        base.clone()
                    } else {
                        format!("{base}-{n}")
                    }
                })
                .find(|c| !taken.contains(c));
            let slot = slot.expect("some suffix is free");
            taken.insert(slot.clone());
            slot
        })
        .collect()
}
