//! Rejected: collects in completion order with a JoinSet but names the n-th result after the n-th database of the list, so the error blames the wrong database
//! Fails: a_failed_dump_is_an_error_naming_its_database, a_crashed_dump_is_an_error_not_a_crash_of_the_caller
//! The nightly backup: one worker task per database, all dumps in parallel.

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
    for database in &databases {
        workers.spawn(backup(database.clone()));
    }

    let mut names = databases.iter();
    while let Some(done) = workers.join_next().await {
        let database = names.next().map_or("?", String::as_str);
        done.with_context(|| format!("the backup worker for {database} crashed"))?
            .with_context(|| format!("backing up {database} failed"))?;
    }
    Ok(())
}
