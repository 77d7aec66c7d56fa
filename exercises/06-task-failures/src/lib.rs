//! The nightly backup: one worker task per database, all dumps in parallel.
//!
//! Incident report: "The backup job has logged `backup finished` every night for three weeks.
//! All that time the `orders` dump had been failing: connection reset by the database server.
//! Nobody knew until the day we needed that backup. And last Tuesday a dump hit a corrupt page
//! and panicked, and the panic took the whole nightly scheduler down with it, instead of failing
//! that one backup."

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
    let mut workers = Vec::new();
    for database in databases {
        workers.push(tokio::spawn(backup(database)));
    }

    // Wait for every worker: the run is over when the last dump is. What does awaiting a
    // worker give back, and what becomes of it here?
    for worker in workers {
        let _ = worker.await.unwrap();
    }
    Ok(())
}
