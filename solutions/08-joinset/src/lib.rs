//! Multipart upload: a large file goes to the object store in parts, all parts at once.

use std::fmt;
use std::future::Future;

use tokio::task::JoinSet;

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
    // A JoinSet owns its tasks: dropping it aborts every task still in it. A dropped JoinHandle
    // only detaches its task, which then runs on with nobody waiting for it.
    let mut uploads = JoinSet::new();
    for part in parts {
        uploads.spawn(upload(part));
    }

    let mut uploaded = 0;
    // `join_next` yields each upload as it finishes, so a failure is seen as soon as it happens.
    while let Some(upload) = uploads.join_next().await {
        // On the first error `?` returns, `uploads` is dropped, and the other parts are aborted.
        upload.expect("an upload task panicked")?;
        uploaded += 1;
    }
    Ok(uploaded)
}
