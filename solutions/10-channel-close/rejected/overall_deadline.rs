//! Rejected: collects until a fixed deadline that fits the story's 10 s probe: it always waits out the deadline, and a slower probe's report is lost
//! Fails: every_service_gets_exactly_one_report, collector_returns_when_the_last_worker_is_done
//! Fan out one probe task per service, fan the reports back in through a channel.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::timeout;

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

    for service in services {
        let tx = tx.clone();
        let probe = probe.clone();
        tokio::spawn(async move {
            let healthy = probe(service.clone()).await;
            // The collector only goes away if check_all itself was cancelled: nothing to do then.
            let _ = tx.send(Report { service, healthy }).await;
        });
    }

    // A health check must not hang: give the probes 30 s, then return what has arrived.
    let mut reports = Vec::new();
    let _ = timeout(Duration::from_secs(30), async {
        while let Some(report) = rx.recv().await {
            reports.push(report);
        }
    })
    .await;
    reports
}
