//! The nightly backup: one worker task per database, all dumps in parallel. The reference solution.

use anyhow::Context;
use std::future::Future;

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
    // Keep each database's name next to its worker: the errors below must say which one failed.
    let mut workers = Vec::new();
    for database in databases {
        let worker = tokio::spawn(backup(database.clone()));
        workers.push((database, worker));
    }

    // Awaiting a JoinHandle gives two Results. The outer one is the task's: Err(JoinError) if the
    // worker panicked (or was cancelled). `unwrap` turned that into a panic of the caller; `?`
    // turns it into an error. The inner one is the backup's own result, which `let _ =` threw
    // away. Propagate both, each with context naming the database.
    for (database, worker) in workers {
        worker
            .await
            .with_context(|| format!("the backup worker for {database} crashed"))?
            .with_context(|| format!("backing up {database} failed"))?;
    }
    Ok(())
}
