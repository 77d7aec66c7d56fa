//! What a confined process can see of the file tree: the system, and the paths its policy names.
//!
//! Landlock decides what may be read, run or written, but not which Unix sockets on disk may be
//! connected to: a desktop bus, the Docker daemon's socket or an SSH agent would stay in reach,
//! and each can run commands outside the sandbox. So, in a mount namespace of its own, every
//! top-level folder that is not the system's (/home, /root, /tmp, /run, /var, ...) is covered
//! with an empty tmpfs, and the policy's paths under it are bound back in place. What is out of
//! view is out of reach, sockets included.

use super::Policy;
use anyhow::{Context, Result};
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::fs::{open, Mode, OFlags};
use rustix::mount::{mount, mount_bind_recursive, mount_change, MountFlags, MountPropagationFlags};
use std::fs;
use std::path::{Path, PathBuf};

/// Top-level folders left as they are: the system's programs, libraries and settings, and the
/// kernel's views (Landlock still decides what of them may be touched).
const SYSTEM: [&str; 11] = [
    "usr", "lib", "lib32", "lib64", "libx32", "bin", "sbin", "etc", "proc", "sys", "dev",
];

/// Call inside the process's own user namespace (it owns the new mount namespace), before
/// Landlock: the policy's paths are opened here while they are still in view.
pub fn narrow(policy: &Policy) -> Result<()> {
    // Safe for this flag: the deprecation is about CLONE_FILES (see network.rs).
    #[allow(deprecated)]
    rustix::thread::unshare(rustix::thread::UnshareFlags::NEWNS)
        .context("mount namespaces are not available")?;
    // Nothing done here reaches the mounts outside.
    mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .context("cannot make the mounts private")?;
    let kept = outermost(named_paths(policy));
    for top in covered_tops(&kept)? {
        let inside = kept.iter().filter(|path| path.starts_with(&top));
        // Held open: once the cover is on, these paths lead into it.
        let held: Vec<(&PathBuf, bool, OwnedFd)> = inside
            .filter_map(|path| {
                let fd = open(path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).ok()?;
                Some((path, path.is_dir(), fd))
            })
            .collect();
        mount(
            "tmpfs",
            &top,
            "tmpfs",
            MountFlags::NOSUID | MountFlags::NODEV,
            c"mode=0755",
        )
        .with_context(|| format!("cannot cover {}", top.display()))?;
        for (path, is_dir, fd) in held {
            bind_back(path, is_dir, &fd)
                .with_context(|| format!("cannot keep {} in view", path.display()))?;
        }
    }
    Ok(())
}

/// Every path the policy names that exists.
fn named_paths(policy: &Policy) -> Vec<PathBuf> {
    let lists = [
        &policy.read,
        &policy.run,
        &policy.write,
        &policy.read_files,
        &policy.run_files,
        &policy.write_files,
    ];
    lists
        .into_iter()
        .flatten()
        .filter(|path| path.is_absolute() && path.exists())
        .cloned()
        .collect()
}

/// The paths that are not inside another of them: binding a folder back brings what is in it.
fn outermost(mut paths: Vec<PathBuf>) -> Vec<PathBuf> {
    paths.sort();
    paths.dedup();
    let mut kept: Vec<PathBuf> = Vec::new();
    for path in paths {
        if !kept.iter().any(|outer| path.starts_with(outer)) {
            kept.push(path);
        }
    }
    kept
}

/// The top-level folders to cover: real folders (not links to the system's), not the system's,
/// and not named whole by the policy.
fn covered_tops(kept: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut tops = Vec::new();
    for entry in fs::read_dir("/").context("cannot list /")? {
        let entry = entry.context("cannot list /")?;
        let is_folder = entry.file_type().is_ok_and(|kind| kind.is_dir());
        let name = entry.file_name();
        let system = SYSTEM.iter().any(|s| name == *s);
        let top = entry.path();
        if is_folder && !system && !kept.iter().any(|path| top.starts_with(path)) {
            tops.push(top);
        }
    }
    Ok(tops)
}

/// Puts `path` (held open as `fd`) back where it was, on top of the cover.
fn bind_back(path: &Path, is_dir: bool, fd: &OwnedFd) -> Result<()> {
    if is_dir {
        fs::create_dir_all(path)?;
    } else {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::File::create(path)?;
    }
    let source = format!("/proc/self/fd/{}", fd.as_raw_fd());
    mount_bind_recursive(source.as_str(), path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::outermost;
    use std::path::PathBuf;

    #[test]
    fn a_folder_brings_back_what_is_in_it() {
        let paths = [
            "/root/.cargo/registry",
            "/root/.cargo",
            "/tmp/w/t",
            "/tmp/w",
            "/tmp/wx",
        ];
        let kept = outermost(paths.iter().map(PathBuf::from).collect());
        assert_eq!(
            kept,
            ["/root/.cargo", "/tmp/w", "/tmp/wx"].map(PathBuf::from)
        );
    }
}
