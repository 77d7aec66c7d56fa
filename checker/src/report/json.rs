//! Machine-readable output for `--json`: one JSON document on stdout.

use serde::Serialize;

pub fn print<T: Serialize>(value: &T) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
