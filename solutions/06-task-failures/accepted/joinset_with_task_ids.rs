//! Accepted: spawns into a JoinSet and maps each task id back to its database, so a failure is reported as soon as it happens
//! The nightly backup: one worker task per database, all dumps in parallel.

use std::collections::HashMap;
use std::future::Future;

use anyhow::Context;
use tokio::task::JoinSet;

/// Backs up every database, one worker task each, so the dumps run in parallel. `backup` starts
/// the dump of one database.
///
/// Returns `Ok(())` only when every backup has finished successfully. If a backup failed or its
/// worker crashed, returns an error that says which database it was and what went wrong.
pub async fn backup_all<F, Fut>(databases: Vec<String>, backup: F) -> anyhow::Result<()>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let mut workers = JoinSet::new();
    let mut names = HashMap::new();
    for database in databases {
        let handle = workers.spawn(backup(database.clone()));
        names.insert(handle.id(), database);
    }

    while let Some(done) = workers.join_next_with_id().await {
        match done {
            Ok((id, result)) => {
                result.with_context(|| format!("backing up {} failed", names[&id]))?
            }
            Err(crash) => {
                let database = &names[&crash.id()];
                return Err(crash)
                    .with_context(|| format!("the backup worker for {database} crashed"));
            }
        }
    }
    Ok(())
}
