//! Accepted: waits with `select_all` for whichever part finishes next, while one guard holds every task's AbortHandle and aborts them all when upload_all ends
//! Multipart upload: a large file goes to the object store in parts, all parts at once.

use std::fmt;
use std::future::Future;

use futures::future::select_all;
use tokio::task::AbortHandle;

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

/// Aborts every task it holds a handle to when it is dropped.
struct AbortAll(Vec<AbortHandle>);

impl Drop for AbortAll {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

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
    let mut pending = Vec::with_capacity(parts.len());
    for part in parts {
        pending.push(tokio::spawn(upload(part)));
    }
    // Whatever way upload_all ends (success, error, or its caller dropping it), the guard aborts
    // every part task that is still running. Aborting a finished task does nothing.
    let _abort_all = AbortAll(pending.iter().map(|task| task.abort_handle()).collect());

    let mut uploaded = 0;
    while !pending.is_empty() {
        let (done, _, rest) = select_all(pending).await;
        done.expect("an upload task panicked")?;
        uploaded += 1;
        pending = rest;
    }
    Ok(uploaded)
}
