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

/// Writes `text` to `path`, readable by its owner only. The earlier file is replaced whole, in
/// one step, once the new one is on disk: a write that fails leaves the earlier file as it was.
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    Staged::write(path, text)?.publish()
}

/// A file's next contents, written and synced beside it (at `path.new`) but not in its place
/// yet: `publish` moves it there in one step, so the file at `path` is always the old one whole
/// or the new one whole. Dropped before `publish`, it is deleted and `path` is left as it was.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    temp: PathBuf,
    /// Left on disk when dropped: published, or holding what could not be published.
    keep: bool,
}

impl Staged {
    pub fn write(path: &Path, text: &str) -> Result<Staged> {
        create_dir(path)?;
        let mut temp = path.as_os_str().to_owned();
        temp.push(".new");
        let staged = Staged {
            path: path.to_path_buf(),
            temp: PathBuf::from(temp),
            keep: false,
        };
        let cannot = || format!("cannot write {}", staged.temp.display());
        // Truncating is fine: a file at path.new is an earlier Staged's, never the original.
        let mut file = private_options().open(&staged.temp).with_context(cannot)?;
        make_private(&staged.temp)?;
        file.write_all(text.as_bytes()).with_context(cannot)?;
        file.sync_all().with_context(cannot)?;
        Ok(staged)
    }

    /// Where the new contents wait until they are published.
    pub fn temp(&self) -> &Path {
        &self.temp
    }

    /// Where they go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Puts the new contents in place. When that fails they stay at `temp()`, for the caller to
    /// point to: they may be all there is of what they hold.
    pub fn publish(mut self) -> Result<()> {
        self.keep = true;
        fs::rename(&self.temp, &self.path).with_context(|| {
            format!(
                "cannot move {} to {}",
                self.temp.display(),
                self.path.display()
            )
        })?;
        // The rename is on disk once the folder is. The file is in place either way, so a folder
        // that cannot be synced (or opened, off Unix) is no reason to say it is not.
        #[cfg(unix)]
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = fs::File::open(dir).and_then(|dir| dir.sync_all());
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.temp);
        }
    }
}
