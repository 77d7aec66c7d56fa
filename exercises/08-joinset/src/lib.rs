//! Multipart upload: a large file goes to the object store in parts, all parts at once.
//!
//! Bug report from the storage team: "When an upload fails, the client reports the error at once
//! and deletes what it uploaded. But parts of that upload keep arriving for another ten seconds,
//! and the ones that land after the delete are never cleaned up: we pay for orphaned parts that
//! nobody will ever read."

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
    for upload in uploads {
        // One failed part fails the whole upload: `?` hands its error straight to the caller.
        upload.await.expect("an upload task panicked")?;
        uploaded += 1;
    }
    Ok(uploaded)
}
