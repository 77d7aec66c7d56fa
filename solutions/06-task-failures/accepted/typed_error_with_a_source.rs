//! Accepted: a typed error of its own (which database, and the cause as its `source()`), converted into anyhow at the end
//! The nightly backup: one worker task per database, all dumps in parallel.

use std::fmt;
use std::future::Future;

use tokio::task::JoinError;

/// Why the backup of one database did not finish.
#[derive(Debug)]
pub enum BackupError {
    /// The dump itself failed.
    Failed {
        database: String,
        cause: anyhow::Error,
    },
    /// The worker running the dump panicked (or was cancelled).
    Crashed { database: String, cause: JoinError },
}

impl fmt::Display for BackupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackupError::Failed { database, .. } => write!(f, "backing up {database} failed"),
            BackupError::Crashed { database, .. } => {
                write!(f, "the backup worker for {database} crashed")
            }
        }
    }
}

impl std::error::Error for BackupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BackupError::Failed { cause, .. } => Some(cause.as_ref()),
            BackupError::Crashed { cause, .. } => Some(cause),
        }
    }
}

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
            Ok(Err(cause)) => return Err(BackupError::Failed { database, cause }.into()),
            Err(cause) => return Err(BackupError::Crashed { database, cause }.into()),
        }
    }
    Ok(())
}
