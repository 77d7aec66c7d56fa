//! The build lock check: cargo holds `<target>/debug/.cargo-lock` while it builds, and a
//! `cargo kata` started meanwhile waits. An editor building in the same folder holds it often.

use super::Check;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

const NAME: &str = "build lock";

pub fn build_lock(dirs: &[PathBuf]) -> Check {
    let files: Vec<PathBuf> = dirs
        .iter()
        .map(|dir| dir.join("debug").join(".cargo-lock"))
        .filter(|file| file.is_file())
        .collect();
    if files.is_empty() {
        return Check::pass(NAME, "free (nothing has been built yet)");
    }
    for file in &files {
        if let Some(check) = held(file) {
            return check;
        }
    }
    Check::pass(
        NAME,
        "free: no editor or other cargo is building in the target dir",
    )
}

/// A failing check when someone holds `file`'s lock, None when it is free. The lock is only
/// tried, never waited for, and let go at once.
fn held(file: &Path) -> Option<Check> {
    let opened = OpenOptions::new()
        .read(true)
        .write(true)
        .open(file)
        .or_else(|_| File::open(file));
    let handle = match opened {
        Ok(handle) => handle,
        Err(e) => {
            return Some(Check::warn(
                NAME,
                format!("cannot open {}: {e}", file.display()),
                "check you own the target directory",
            ))
        }
    };
    match handle.try_lock() {
        Ok(()) => None,
        Err(TryLockError::WouldBlock) => Some(report_holder(file)),
        Err(TryLockError::Error(e)) => Some(Check::warn(
            NAME,
            format!("cannot test {}: {e}", file.display()),
            "nothing to do unless `cargo kata` waits on \"Blocking waiting for file lock\"",
        )),
    }
}

fn report_holder(file: &Path) -> Check {
    let holder = holder::find(file);
    let detail = match &holder {
        Some(h) => match &h.editor {
            Some(editor) => format!(
                "{} is held by {} (pid {}), started by {} (pid {})",
                file.display(),
                h.name,
                h.pid,
                editor.name,
                editor.pid
            ),
            None => format!("{} is held by {} (pid {})", file.display(), h.name, h.pid),
        },
        None => format!("{} is held by another process", file.display()),
    };
    let fix = match &holder {
        Some(h) if h.editor.is_some() => {
            "your editor builds in the same folder as `cargo kata`: keep the repository's \
             rust-analyzer.toml (cargo.targetDir = true), do not set CARGO_TARGET_DIR for the \
             editor only, and restart the language server"
                .to_string()
        }
        Some(h) => format!(
            "wait for that build to finish, or stop it (pid {}); then run `cargo kata doctor` again",
            h.pid
        ),
        None => "wait for the other build (another cargo, or your editor) to finish".to_string(),
    };
    Check::fail(NAME, detail, fix)
}

pub struct Process {
    pub pid: u32,
    pub name: String,
}

/// The process holding the build lock.
pub struct Holder {
    pub pid: u32,
    pub name: String,
    /// The rust-analyzer (or other editor process) this holder runs under.
    pub editor: Option<Process>,
}

#[cfg(target_os = "linux")]
mod holder {
    //! Who holds a lock, from /proc/locks, and which editor started it, from the parent chain.

    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    use super::{Holder, Process};

    /// Processes whose name says they are an editor's language server.
    const EDITORS: [&str; 2] = ["rust-analyzer", "rls"];

    pub fn find(file: &Path) -> Option<Holder> {
        let meta = std::fs::metadata(file).ok()?;
        let wanted = format!(
            "{:02x}:{:02x}:{}",
            major(meta.dev()),
            minor(meta.dev()),
            meta.ino()
        );
        let locks = std::fs::read_to_string("/proc/locks").ok()?;
        let pid = locks.lines().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // Waiters are listed as `N: -> FLOCK ...`; only the holder counts.
            if fields.get(1) == Some(&"->") {
                return None;
            }
            let device_inode = fields.get(5)?;
            same_file(device_inode, &wanted).then(|| fields.get(4)?.parse::<u32>().ok())?
        })?;
        let name = name_of(pid).unwrap_or_else(|| "a process".to_string());
        let editor = ancestors(pid).into_iter().find(|p| {
            EDITORS
                .iter()
                .any(|editor| p.name.to_lowercase().contains(editor))
        });
        Some(Holder { pid, name, editor })
    }

    /// /proc/locks writes the device in hex, with as many digits as it likes.
    fn same_file(listed: &str, wanted: &str) -> bool {
        let parse = |text: &str| -> Option<(u64, u64, u64)> {
            let mut parts = text.split(':');
            let major = u64::from_str_radix(parts.next()?, 16).ok()?;
            let minor = u64::from_str_radix(parts.next()?, 16).ok()?;
            let inode = parts.next()?.parse().ok()?;
            Some((major, minor, inode))
        };
        matches!((parse(listed), parse(wanted)), (Some(a), Some(b)) if a == b)
    }

    // Linux's encoding of a device number into major and minor.
    fn major(dev: u64) -> u64 {
        ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)
    }

    fn minor(dev: u64) -> u64 {
        (dev & 0xff) | ((dev >> 12) & !0xff)
    }

    fn name_of(pid: u32) -> Option<String> {
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        Some(name.trim().to_string())
    }

    fn parent_of(pid: u32) -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The name in parentheses may hold spaces; the parent's pid is the second field after it.
        let after_name = &stat[stat.rfind(')')? + 1..];
        after_name.split_whitespace().nth(1)?.parse().ok()
    }

    /// The holder and its parents, up to init.
    fn ancestors(pid: u32) -> Vec<Process> {
        let mut chain = Vec::new();
        let mut current = Some(pid);
        while let Some(pid) = current.filter(|&p| p > 1 && chain.len() < 32) {
            if let Some(name) = name_of(pid) {
                chain.push(Process { pid, name });
            }
            current = parent_of(pid);
        }
        chain
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn devices_compare_by_number_not_by_spelling() {
            assert!(super::same_file("fe:00:5735653", "fe:00:5735653"));
            assert!(super::same_file("00:2a:17", "00:2a:17"));
            assert!(super::same_file("103:02:17", "103:2:17"));
            assert!(!super::same_file("fe:00:5735653", "fe:01:5735653"));
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod holder {
    //! Naming the holder needs /proc; elsewhere the check only says the lock is held.

    use std::path::Path;

    use super::Holder;

    pub fn find(_file: &Path) -> Option<Holder> {
        None
    }
}
