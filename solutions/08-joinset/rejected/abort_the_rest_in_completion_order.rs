//! Rejected: sees each part as it finishes and aborts the others on the first error, but only on that path: when the caller drops upload_all, the part tasks run on detached
//! Fails: a_cancelled_upload_cancels_every_part_task
//! Multipart upload: a large file goes to the object store in parts, all parts at once.

use std::fmt;
use std::future::Future;

use futures::stream::{FuturesUnordered, StreamExt};

/// One piece of the file, uploaded on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub number: u32,
    pub data: Vec<u8>,
}

/// Why a part could not be uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadError {
    pub part: u32,
    pub reason: String,
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "part {} failed to upload: {}", self.part, self.reason)
    }
}

impl std::error::Error for UploadError {}

/// Uploads every part concurrently, one task per part, and returns how many parts were uploaded.
///
/// If a part fails, the whole upload has failed and is abandoned: `upload_all` returns that
/// part's error without waiting for the other parts, and once it has returned no part is still
/// uploading.
pub async fn upload_all<F, Fut>(parts: Vec<Part>, upload: F) -> Result<usize, UploadError>
where
    F: Fn(Part) -> Fut,
    Fut: Future<Output = Result<(), UploadError>> + Send + 'static,
{
    let mut tasks = Vec::with_capacity(parts.len());
    for part in parts {
        tasks.push(tokio::spawn(upload(part)));
    }
    let aborts: Vec<_> = tasks.iter().map(|task| task.abort_handle()).collect();
    let mut uploads: FuturesUnordered<_> = tasks.into_iter().collect();

    let mut uploaded = 0;
    while let Some(done) = uploads.next().await {
        if let Err(error) = done.expect("an upload task panicked") {
            for task in &aborts {
                task.abort();
            }
            return Err(error);
        }
        uploaded += 1;
    }
    Ok(uploaded)
}
