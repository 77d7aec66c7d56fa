//! Accepted: matches both layers of the worker's result by hand, wrapping the backup's error and turning a panic (`is_panic`) into an error of its own that says so
//! The nightly backup: one worker task per database, all dumps in parallel.

use std::future::Future;

use anyhow::bail;

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
        match worker.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(error.context(format!("the backup of {database} failed"))),
            // A panic payload is nothing a caller would inspect: an error of our own says it all.
            Err(crash) if crash.is_panic() => {
                bail!("the backup worker for {database} panicked: {crash}")
            }
            Err(_) => bail!("the backup worker for {database} was cancelled"),
        }
    }
    Ok(())
}
