//! Rejected: `try_join_all` over the JoinHandles returns at the first error, but it drops the other handles, which detaches their tasks
//! Fails: no_part_keeps_uploading_after_the_error, a_failed_upload_cancels_every_part_task, a_cancelled_upload_cancels_every_part_task
//! Multipart upload: a large file goes to the object store in parts, all parts at once.

use std::fmt;
use std::future::Future;

use futures::future::try_join_all;

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
    let uploads = parts.into_iter().map(|part| {
        let task = tokio::spawn(upload(part));
        async move { task.await.expect("an upload task panicked") }
    });
    // Stops at the first part that fails.
    let uploaded = try_join_all(uploads).await?;
    Ok(uploaded.len())
}
