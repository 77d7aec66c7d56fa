//! Rejected: awaits the handles in list order and aborts the rest on an error: a failure behind a slow part is seen late, and a cancelled upload_all aborts nothing
//! Fails: a_failed_part_is_reported_promptly, a_cancelled_upload_cancels_every_part_task
//! Multipart upload: a large file goes to the object store in parts, all parts at once.

use std::fmt;
use std::future::Future;

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
    let mut uploads = Vec::with_capacity(parts.len());
    for part in parts {
        uploads.push(tokio::spawn(upload(part)));
    }

    let mut uploaded = 0;
    for i in 0..uploads.len() {
        let result = (&mut uploads[i]).await.expect("an upload task panicked");
        if let Err(error) = result {
            // The upload is abandoned: stop every part still going before reporting it.
            for rest in &uploads[i + 1..] {
                rest.abort();
            }
            return Err(error);
        }
        uploaded += 1;
    }
    Ok(uploaded)
}
