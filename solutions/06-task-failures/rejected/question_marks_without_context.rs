//! Rejected: propagates both layers with `??` but adds nothing: neither the JoinError nor the dump's error says which database it was
//! Fails: a_failed_dump_is_an_error_naming_its_database, a_crashed_dump_is_an_error_not_a_crash_of_the_caller
//! The nightly backup: one worker task per database, all dumps in parallel.

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

    for worker in workers {
        worker.await??;
    }
    Ok(())
}
