//! Rejected: gives the original Sender to the last worker instead of a clone, so with no services at all it is never dropped and the collector waits for ever
//! Fails: collector_returns_when_the_last_worker_is_done
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

    // Clone the Sender for every worker but the last, which takes the original: once the last
    // worker is done, no Sender is left over.
    let mut tx = Some(tx);
    let last = services.len().saturating_sub(1);
    for (i, service) in services.into_iter().enumerate() {
        let tx = if i == last {
            tx.take()
                .expect("the original Sender goes to the last worker only")
        } else {
            tx.clone().expect("the original Sender is still here")
        };
        let probe = probe.clone();
        tokio::spawn(async move {
            let healthy = probe(service.clone()).await;
            // The collector only goes away if check_all itself was cancelled: nothing to do then.
            let _ = tx.send(Report { service, healthy }).await;
        });
    }

    let mut reports = Vec::new();
    while let Some(report) = rx.recv().await {
        reports.push(report);
    }
    reports
}
