//! Rejected: reports the dump's error with its database, but still unwraps the JoinError, so a panic in a worker crashes the caller
//! Fails: a_crashed_dump_is_an_error_not_a_crash_of_the_caller
//! The nightly backup: one worker task per database, all dumps in parallel.

use std::future::Future;

use anyhow::Context;

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
            .unwrap()
            .with_context(|| format!("backing up {database} failed"))?;
    }
    Ok(())
}
