//! Accepted: hands the original Sender by value to a function that spawns the workers, so it is gone before collecting starts
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
    fan_out(services, probe, tx);

    // The only Senders left are the workers': the channel closes when the last one is done.
    let mut reports = Vec::new();
    while let Some(report) = rx.recv().await {
        reports.push(report);
    }
    reports
}

/// Spawns one probe per service, each with its own clone of `tx`. Takes `tx` by value, so the
/// original is dropped when this returns.
fn fan_out<F, Fut>(services: Vec<String>, probe: F, tx: mpsc::Sender<Report>)
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    for service in services {
        let tx = tx.clone();
        let probe = probe.clone();
        tokio::spawn(async move {
            let healthy = probe(service.clone()).await;
            // The collector only goes away if check_all itself was cancelled: nothing to do then.
            let _ = tx.send(Report { service, healthy }).await;
        });
    }
}
