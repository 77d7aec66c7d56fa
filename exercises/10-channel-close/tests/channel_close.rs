//! Every probe runs under paused time: a probe "takes" its delay in virtual time, so even the slow
//! one finishes in microseconds of real time.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use channel_close::{check_all, Report};
use tokio::time::{sleep, timeout, Instant};

/// Three quick services and one that takes 10 s to answer. Any collector that gives up after a
/// fixed quiet period shorter than 10 s loses the slow one's report.
const FLEET: &[(&str, u64, bool)] = &[
    ("auth", 100, true),
    ("billing", 10_000, true),
    ("cache", 200, false),
    ("search", 300, true),
];

/// The slowest probe in `FLEET`.
const SLOWEST: Duration = Duration::from_secs(10);

fn services() -> Vec<String> {
    FLEET.iter().map(|(name, _, _)| name.to_string()).collect()
}

/// A fake probe: each service answers after its delay with its fixed health.
fn probe() -> impl Fn(String) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send>> + Clone {
    let table: Arc<HashMap<String, (Duration, bool)>> = Arc::new(
        FLEET
            .iter()
            .map(|&(name, ms, healthy)| (name.to_string(), (Duration::from_millis(ms), healthy)))
            .collect(),
    );
    move |service: String| {
        let table = Arc::clone(&table);
        Box::pin(async move {
            let (delay, healthy) = table[&service];
            sleep(delay).await;
            healthy
        })
    }
}

fn expected() -> Vec<Report> {
    FLEET
        .iter()
        .map(|&(name, _, healthy)| Report {
            service: name.to_string(),
            healthy,
        })
        .collect()
}

/// Reports may arrive in any order; compare them sorted by service.
fn sorted(mut reports: Vec<Report>) -> Vec<Report> {
    reports.sort_by(|a, b| a.service.cmp(&b.service));
    reports
}

/// No timeout on purpose: if the channel never closes, this test hangs until the checker kills
/// it. That is the real symptom: a collector waiting forever for a `None` that never comes.
#[tokio::test(start_paused = true)]
async fn every_service_gets_exactly_one_report() {
    let reports = sorted(check_all(services(), probe()).await);

    assert_eq!(
        reports,
        expected(),
        "check_all must return exactly one report per service, the 10 s probe included: \
         the collector stopped before every worker had sent its report (or got extra ones)"
    );
}

/// The same fan-out, with a 60 s budget of virtual time so a collector that never sees the
/// channel close fails at once with a readable message instead of hanging.
#[tokio::test(start_paused = true)]
async fn collector_returns_when_the_last_worker_is_done() {
    let start = Instant::now();

    let reports = timeout(Duration::from_secs(60), check_all(services(), probe()))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "check_all was still waiting 60 s (virtual) after starting, although every \
                 probe had finished within 10 s: the channel never closed, so some Sender is \
                 still alive"
            )
        });
    let elapsed = start.elapsed();

    assert_eq!(
        reports.len(),
        FLEET.len(),
        "expected {} reports, one per service, got {}: the collector stopped before every \
         worker had reported",
        FLEET.len(),
        reports.len()
    );
    assert!(
        elapsed < SLOWEST + Duration::from_secs(1),
        "check_all returned {elapsed:?} after starting, but the slowest probe finished at \
         {SLOWEST:?}: it should return as soon as the channel closes, not wait out a timer"
    );
}
