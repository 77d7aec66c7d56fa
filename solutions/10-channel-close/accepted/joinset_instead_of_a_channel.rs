//! Accepted: collects the probes' results from a JoinSet in the order they finish, with no channel to close
//! Fan out one probe task per service, fan the reports back in as the tasks finish.

use std::future::Future;

use tokio::task::JoinSet;

/// The outcome of probing one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub service: String,
    pub healthy: bool,
}

/// Probes every service concurrently, one task each, and returns one report per service in the
/// order the probes finished. Returns as soon as the last probe has reported.
pub async fn check_all<F, Fut>(services: Vec<String>, probe: F) -> Vec<Report>
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let mut probes = JoinSet::new();
    for service in services {
        let probe = probe.clone();
        probes.spawn(async move {
            let healthy = probe(service.clone()).await;
            Report { service, healthy }
        });
    }

    // `join_next` yields each task as it finishes and `None` once the set is empty.
    let mut reports = Vec::new();
    while let Some(done) = probes.join_next().await {
        // A probe that panicked has no report to give.
        if let Ok(report) = done {
            reports.push(report);
        }
    }
    reports
}
