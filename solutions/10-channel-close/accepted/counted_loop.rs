//! Accepted: receives exactly one report per service with a counted loop, so it never needs the channel to close
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
    let expected = services.len();

    for service in services {
        let tx = tx.clone();
        let probe = probe.clone();
        tokio::spawn(async move {
            let healthy = probe(service.clone()).await;
            // The collector only goes away if check_all itself was cancelled: nothing to do then.
            let _ = tx.send(Report { service, healthy }).await;
        });
    }

    // Every worker sends exactly one report: stop after that many instead of waiting for the
    // channel to close (it never would, `tx` is still here).
    let mut reports = Vec::with_capacity(expected);
    while reports.len() < expected {
        match rx.recv().await {
            Some(report) => reports.push(report),
            None => break,
        }
    }
    reports
}
