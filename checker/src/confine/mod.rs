//! Confinement of students' code while grading (Linux): what a process may read, run and write,
//! and a network of its own with nothing in it but loopback.
//!
//! The launcher (see launch.rs) applies a `Policy` to itself and then becomes the confined
//! program, which keeps it, as do its children. Files are confined with Landlock, the kernel's
//! unprivileged sandbox, which also keeps a confined process from signalling processes outside
//! its sandbox. The network is a new network namespace inside a new user namespace, which needs
//! no privileges either; in it, the process also gets a view of the file tree with only the
//! system and its policy's paths in it (see view.rs), so no Unix socket elsewhere is in reach.
//! None of it can be undone from inside.

#[cfg(target_os = "linux")]
mod filesystem;
#[cfg(target_os = "linux")]
mod network;
#[cfg(target_os = "linux")]
mod view;

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::PathBuf;

/// What a confined process may touch. Anything not named here is out of reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Folders to read (files and listings).
    pub read: Vec<PathBuf>,
    /// Folders to read and run programs from.
    pub run: Vec<PathBuf>,
    /// Folders to read and change: create, write and remove files and folders.
    pub write: Vec<PathBuf>,
    /// Single files to read.
    pub read_files: Vec<PathBuf>,
    /// Single files to read and run.
    pub run_files: Vec<PathBuf>,
    /// Single files to read and write (devices such as /dev/null).
    pub write_files: Vec<PathBuf>,
    /// A network namespace of its own: loopback only.
    pub own_network: bool,
}

impl Policy {
    /// The policy as arguments of the launcher.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args = Vec::new();
        let lists = [
            ("--read", &self.read),
            ("--run", &self.run),
            ("--write", &self.write),
            ("--read-file", &self.read_files),
            ("--run-file", &self.run_files),
            ("--write-file", &self.write_files),
        ];
        for (flag, paths) in lists {
            for path in paths {
                args.push(OsString::from(flag));
                args.push(path.clone().into_os_string());
            }
        }
        if self.own_network {
            args.push("--own-network".into());
        }
        args
    }

    /// Reads one launcher argument (and its value) into the policy; false when it is not one.
    pub fn take_arg(
        &mut self,
        flag: &str,
        value: impl FnOnce() -> Option<OsString>,
    ) -> Result<bool> {
        let list = match flag {
            "--own-network" => {
                self.own_network = true;
                return Ok(true);
            }
            "--read" => &mut self.read,
            "--run" => &mut self.run,
            "--write" => &mut self.write,
            "--read-file" => &mut self.read_files,
            "--run-file" => &mut self.run_files,
            "--write-file" => &mut self.write_files,
            _ => return Ok(false),
        };
        let path = value().with_context(|| format!("{flag} needs a path"))?;
        list.push(PathBuf::from(path));
        Ok(true)
    }

    pub fn is_empty(&self) -> bool {
        *self == Policy::default()
    }

    /// System folders every program needs: the dynamic loader, shared libraries, programs such
    /// as the linker, and harmless devices. Nothing that belongs to a person.
    pub fn with_system(mut self) -> Policy {
        let run = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"];
        self.run.extend(run.iter().map(PathBuf::from));
        let read = ["/etc/ld.so.cache", "/proc/self", "/sys/devices/system/cpu"];
        self.read_files
            .extend(read.iter().map(PathBuf::from).filter(|p| p.is_file()));
        self.read
            .extend(read.iter().map(PathBuf::from).filter(|p| p.is_dir()));
        let devices = [
            "/dev/null",
            "/dev/zero",
            "/dev/full",
            "/dev/urandom",
            "/dev/random",
        ];
        self.write_files.extend(devices.iter().map(PathBuf::from));
        self
    }
}

/// The namespaces `policy` asks for, for this process and its children: a user namespace with a
/// network and a view of the file tree of its own, and a PID namespace whose first process is
/// this process's next child. Call it single-threaded.
#[cfg(target_os = "linux")]
pub fn enter_namespaces(policy: &Policy) -> Result<()> {
    if !policy.own_network {
        return Ok(());
    }
    network::enter_own().context("cannot give the process a network of its own")?;
    // The network's user namespace also lets the process have a view and processes of its own.
    view::narrow(policy).context("cannot hide what the process must not reach")?;
    // Safe for this flag: the deprecation is about CLONE_FILES (see network.rs).
    #[allow(deprecated)]
    rustix::thread::unshare(rustix::thread::UnshareFlags::NEWPID)
        .context("PID namespaces are not available")?;
    Ok(())
}

/// Confines this process's files to `policy`, for good. Call it single-threaded, before `exec`.
#[cfg(target_os = "linux")]
pub fn restrict_files(policy: &Policy) -> Result<()> {
    filesystem::restrict(policy).context("cannot confine the process's files")
}

#[cfg(not(target_os = "linux"))]
pub fn enter_namespaces(_policy: &Policy) -> Result<()> {
    bail!("confinement needs Linux (Landlock and namespaces)")
}

#[cfg(not(target_os = "linux"))]
pub fn restrict_files(_policy: &Policy) -> Result<()> {
    bail!("confinement needs Linux (Landlock and namespaces)")
}

/// Whether this machine can confine: asked of a fresh launcher, which tries a policy on itself.
/// `KATA_FORCE_NO_CONFINEMENT` makes it answer no, so the checker's tests can see what an
/// instructor sees on a machine without it.
pub fn check_available() -> Result<()> {
    if std::env::var_os("KATA_FORCE_NO_CONFINEMENT").is_some() {
        bail!("KATA_FORCE_NO_CONFINEMENT is set");
    }
    let checker = std::env::current_exe().context("cannot find the checker's own binary")?;
    let probe = Policy {
        own_network: true,
        run_files: vec![checker.clone()],
        ..Policy::default()
    }
    .with_system();
    let output = std::process::Command::new(&checker)
        .arg(crate::launch::LAUNCH)
        .args(probe.to_args())
        .arg("--")
        .arg(&checker)
        .arg(PROBE)
        .stdin(std::process::Stdio::null())
        .output()
        .context("cannot run the confinement probe")?;
    let said = String::from_utf8_lossy(&output.stdout);
    if output.status.success() && said.trim() == PROBE_OK {
        return Ok(());
    }
    let why = String::from_utf8_lossy(&output.stderr);
    let why = why.trim().trim_start_matches("error: ");
    if why.is_empty() {
        bail!("the confinement probe failed ({})", output.status);
    }
    bail!("{why}")
}

/// The hidden command a confined probe runs; it checks it really is confined.
pub const PROBE: &str = "__confinement-probe";
const PROBE_OK: &str = "confined";

/// Run as the probe: a file outside the policy must be out of reach.
pub fn probe() -> Result<()> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let outside = home
        .filter(|h| h.is_dir())
        .unwrap_or_else(|| PathBuf::from("/root"));
    if std::fs::read_dir(&outside).is_ok() {
        bail!(
            "Landlock did not confine a test process: it could still read {}",
            outside.display()
        );
    }
    crate::screen::write_stdout(format_args!("{PROBE_OK}\n"));
    Ok(())
}
