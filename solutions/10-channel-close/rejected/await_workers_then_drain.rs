//! Rejected: waits for every worker before reading the channel, so with more services than the channel holds the workers and the collector wait for each other for ever
//! Fails: every_service_gets_exactly_one_report, collector_returns_when_the_last_worker_is_done
//! Fan out one probe task per service, fan the reports back in through a channel.

use std::future::Future;

use tokio::sync::mpsc;

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
    let (tx, mut rx) = mpsc::channel(16);

    let mut workers = Vec::new();
    for service in services {
        let tx = tx.clone();
        let probe = probe.clone();
        workers.push(tokio::spawn(async move {
            let healthy = probe(service.clone()).await;
            // The collector only goes away if check_all itself was cancelled: nothing to do then.
            let _ = tx.send(Report { service, healthy }).await;
        }));
    }

    // Once every worker has finished, every report is in the channel: close it and read them.
    for worker in workers {
        let _ = worker.await;
    }
    drop(tx);

    let mut reports = Vec::new();
    while let Some(report) = rx.recv().await {
        reports.push(report);
    }
    reports
}
