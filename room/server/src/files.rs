//! The room's files on disk: created readable by their owner only (0600, folders 0700), since
//! they name every learner and hold the instructor's key, and known by identity so that a file
//! deleted or replaced under the room is noticed.

use anyhow::{bail, Context, Result};
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

/// Which file a path named when it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    device: u64,
    inode: u64,
}

#[cfg(unix)]
pub fn identity(path: &Path) -> std::io::Result<Identity> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(path)?;
    Ok(Identity {
        device: meta.dev(),
        inode: meta.ino(),
    })
}

/// Elsewhere only a missing file is noticed.
#[cfg(not(unix))]
pub fn identity(path: &Path) -> std::io::Result<Identity> {
    fs::metadata(path).map(|_| Identity {
        device: 0,
        inode: 0,
    })
}

pub fn exists(path: &Path) -> Result<bool> {
    path.try_exists()
        .with_context(|| format!("cannot look for {}", path.display()))
}

/// Creates `path`'s folder if needed (0700), so nothing made in it starts out readable.
fn create_dir(path: &Path) -> Result<()> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates an empty file readable by its owner only, and its folder.
pub fn create_private(path: &Path) -> Result<()> {
    create_dir(path)?;
    let mut options = private_options();
    options.create_new(true);
    options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    Ok(())
}

/// Creates a new empty file readable by its owner only: at `path`, or, when a file is there
/// already, at `path-2`, `path-3` and so on. Never opens a file that exists, so nothing already
/// there is overwritten. Returns the path it created.
pub fn create_private_fresh(path: &Path) -> Result<PathBuf> {
    create_dir(path)?;
    for n in 1..=1000u32 {
        let candidate = if n == 1 {
            path.to_path_buf()
        } else {
            let mut name = path.as_os_str().to_owned();
            name.push(format!("-{n}"));
            PathBuf::from(name)
        };
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&candidate) {
            Ok(_) => return Ok(candidate),
            Err(err) if err.kind() == ErrorKind::AlreadyExists => continue,
            Err(err) => {
                return Err(err).with_context(|| format!("cannot create {}", candidate.display()))
            }
        }
    }
    bail!(
        "cannot create {}: it and 999 numbered copies of it are there already",
        path.display()
    )
}

/// Takes away everyone else's access to an existing file.
pub fn make_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o700))
                .with_context(|| format!("cannot make {} private", path.display()))?;
        }
    }
    // Elsewhere files take their folder's access rules.
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Writes `text` to `path`, readable by its owner only (any earlier file is replaced whole).
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    create_dir(path)?;
    let mut file = private_options()
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    make_private(path)?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}
