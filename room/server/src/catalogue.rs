//! The room's columns: the katas of the repository it is served from, read from each
//! `exercises/NN-slug/kata.toml`. Only what the dashboard shows is read; the checker owns the
//! rest of the format (docs/kata-format.md).

use anyhow::{bail, Context, Result};
use room_protocol::KataColumn;
use serde::Deserialize;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
struct Shown {
    order: u32,
    title: String,
}

/// The kata repository containing `start`: a folder with `exercises/` and `Cargo.toml`.
pub fn repository_root(start: &Path) -> Result<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("exercises").is_dir() && dir.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "not inside a kata repository (no folder above {} has exercises/ and Cargo.toml)",
                start.display()
            )
        })
}

/// Every kata of the repository at `root`, in course order.
pub fn columns(root: &Path) -> Result<Vec<KataColumn>> {
    let exercises = root.join("exercises");
    let entries =
        fs::read_dir(&exercises).with_context(|| format!("cannot read {}", exercises.display()))?;
    let mut columns = Vec::new();
    for entry in entries {
        let dir = entry?.path();
        let metadata = dir.join("kata.toml");
        if !metadata.is_file() {
            continue;
        }
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .context("kata folder names are UTF-8")?
            .to_string();
        let text = fs::read_to_string(&metadata)
            .with_context(|| format!("cannot read {}", metadata.display()))?;
        let shown: Shown = toml::from_str(&text)
            .with_context(|| format!("{} is not valid kata metadata", metadata.display()))?;
        columns.push(KataColumn {
            name,
            order: shown.order,
            title: shown.title,
        });
    }
    columns.sort_by_key(|c| c.order);
    if columns.is_empty() {
        bail!("no katas found in {}", exercises.display());
    }
    Ok(columns)
}
