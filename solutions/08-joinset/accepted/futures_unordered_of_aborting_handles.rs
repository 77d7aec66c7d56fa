//! Accepted: each part task's handle is wrapped in a guard that aborts the task when dropped, and the handles are read in completion order from a FuturesUnordered
//! Multipart upload: a large file goes to the object store in parts, all parts at once.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::task::JoinHandle;

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

/// A task that is aborted when its handle is dropped.
struct Aborting<T>(JoinHandle<T>);

impl<T> Future for Aborting<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for Aborting<T> {
    fn drop(&mut self) {
        self.0.abort();
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
    let mut uploads: FuturesUnordered<_> = parts
        .into_iter()
        .map(|part| Aborting(tokio::spawn(upload(part))))
        .collect();

    let mut uploaded = 0;
    // In completion order: a failure is seen as soon as it happens. Returning drops the set of
    // guards, and every guard aborts its task.
    while let Some(done) = uploads.next().await {
        done.expect("an upload task panicked")?;
        uploaded += 1;
    }
    Ok(uploaded)
}
