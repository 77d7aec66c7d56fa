//! Rejected: waits for every part before returning the first error, so nothing lands after the caller hears of the failure, but it hears of it only when the slowest part is done
//! Fails: a_failed_part_is_reported_promptly
//! Multipart upload: a large file goes to the object store in parts, all parts at once.

use std::fmt;
use std::future::Future;

use futures::future::join_all;

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

    // Let every part finish first, so no part can land after the caller has been told.
    let mut uploaded = 0;
    for done in join_all(uploads).await {
        done.expect("an upload task panicked")?;
        uploaded += 1;
    }
    Ok(uploaded)
}
