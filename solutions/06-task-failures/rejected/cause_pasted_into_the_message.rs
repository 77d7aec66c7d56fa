//! Rejected: builds a new error from the cause's text (`anyhow!("..: {e}")`): the message reads right, but the original error is no longer in the chain
//! Fails: a_failed_dump_keeps_its_error_as_the_source
//! The nightly backup: one worker task per database, all dumps in parallel.

use std::future::Future;

use anyhow::anyhow;

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
    let mut workers = Vec::new();
    for database in databases {
        let worker = tokio::spawn(backup(database.clone()));
        workers.push((database, worker));
    }

    for (database, worker) in workers {
        worker
            .await
            .map_err(|crash| anyhow!("the backup worker for {database} crashed: {crash}"))?
            .map_err(|error| anyhow!("backing up {database} failed: {error}"))?;
    }
    Ok(())
}
