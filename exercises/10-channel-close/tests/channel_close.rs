//! Every probe runs under paused time: a probe "takes" its delay in virtual time, so even a probe
//! of an hour finishes in microseconds of real time.
//!
//! The property: `check_all` returns exactly when the last probe has reported, with one report per
//! service, whatever the fleet looks like: the story's four services, one service, none at all, an
//! hour-long probe, or more services than the channel between the workers and the collector holds.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use channel_close::{check_all, Report};
use tokio::time::{sleep, timeout, Instant};

/// A fleet of services to probe: each answers after its delay, healthy or not.
struct Fleet {
    /// How the messages name this fleet.
    name: &'static str,
    services: Vec<(String, Duration, bool)>,
}

impl Fleet {
    fn new(name: &'static str, services: &[(&str, u64, bool)]) -> Fleet {
        Fleet {
            name,
            services: services
                .iter()
                .map(|&(service, ms, healthy)| {
                    (service.to_string(), Duration::from_millis(ms), healthy)
                })
                .collect(),
        }
    }

    fn names(&self) -> Vec<String> {
        self.services
            .iter()
            .map(|(name, ..)| name.clone())
            .collect()
    }

    /// When the slowest probe finishes (zero for an empty fleet).
    fn slowest(&self) -> Duration {
        self.services
            .iter()
            .map(|&(_, delay, _)| delay)
            .max()
            .unwrap_or_default()
    }

    /// A fake probe: each service answers after its delay with its fixed health.
    fn probe(&self) -> impl Fn(String) -> Pin<Box<dyn Future<Output = bool> + Send>> + Clone {
        let table: Arc<HashMap<String, (Duration, bool)>> = Arc::new(
            self.services
                .iter()
                .map(|(name, delay, healthy)| (name.clone(), (*delay, *healthy)))
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

    fn expected(&self) -> Vec<Report> {
        sorted(
            self.services
                .iter()
                .map(|(name, _, healthy)| Report {
                    service: name.clone(),
                    healthy: *healthy,
                })
                .collect(),
        )
    }
}

/// The story: three quick services and one that takes 10 s to answer. A collector that gives up
/// after a quiet period shorter than 10 s loses the slow one's report.
fn the_story() -> Fleet {
    Fleet::new(
        "the four services of the story",
        &[
            ("auth", 100, true),
            ("billing", 10_000, true),
            ("cache", 200, false),
            ("search", 300, true),
        ],
    )
}

fn one_service() -> Fleet {
    Fleet::new("a single service", &[("payments", 2_000, false)])
}

fn no_services() -> Fleet {
    Fleet::new("an empty fleet", &[])
}

/// A probe of an hour, listed first: any fixed deadline short of that loses its report.
fn an_hour_long_probe() -> Fleet {
    Fleet::new(
        "a fleet whose archive probe takes an hour",
        &[
            ("archive", 3_600_000, true),
            ("auth", 50, true),
            ("queue", 1_500, false),
        ],
    )
}

/// Sixty services, far more than the channel between workers and collector holds: many of them
/// answer at the same moments, so their workers wait for room in the channel.
fn a_large_fleet() -> Fleet {
    let services: Vec<(String, Duration, bool)> = (0..60u64)
        .map(|i| {
            (
                format!("node-{i:02}"),
                Duration::from_millis(100 * (i % 4)),
                i % 7 != 3,
            )
        })
        .collect();
    Fleet {
        name: "a fleet of 60 services",
        services,
    }
}

/// Reports may arrive in any order; compare them sorted by service.
fn sorted(mut reports: Vec<Report>) -> Vec<Report> {
    reports.sort_by(|a, b| a.service.cmp(&b.service));
    reports
}

fn check_reports(fleet: &Fleet, reports: Vec<Report>) {
    let reports = sorted(reports);
    let expected = fleet.expected();
    if reports == expected {
        return;
    }
    let missing: Vec<&str> = expected
        .iter()
        .filter(|r| !reports.contains(r))
        .map(|r| r.service.as_str())
        .collect();
    panic!(
        "with {}: check_all returned {} reports for {} services (missing: {missing:?}): the \
         collector must return exactly one report per service, the slowest probe's included, \
         so it must stop only once every worker has reported",
        fleet.name,
        reports.len(),
        expected.len(),
    );
}

/// No timeout on purpose: if the channel never closes, this test hangs until the checker stops
/// it. That is the real symptom: a collector waiting forever for a `None` that never comes.
#[tokio::test(start_paused = true)]
async fn every_service_gets_exactly_one_report() {
    for fleet in [
        the_story(),
        one_service(),
        an_hour_long_probe(),
        a_large_fleet(),
    ] {
        let reports = check_all(fleet.names(), fleet.probe()).await;
        check_reports(&fleet, reports);
    }
}

/// The same fan-out over every fleet, each with a budget of virtual time, so a collector that
/// never sees the channel close fails at once with a readable message instead of hanging.
#[tokio::test(start_paused = true)]
async fn collector_returns_when_the_last_worker_is_done() {
    for fleet in [
        the_story(),
        no_services(),
        one_service(),
        an_hour_long_probe(),
        a_large_fleet(),
    ] {
        let slowest = fleet.slowest();
        let start = Instant::now();
        let Ok(reports) = timeout(
            slowest + Duration::from_secs(60),
            check_all(fleet.names(), fleet.probe()),
        )
        .await
        else {
            let last = if fleet.services.is_empty() {
                "although there was no probe to wait for".to_string()
            } else {
                format!("after the last probe had reported ({slowest:?} after the start)")
            };
            panic!(
                "with {}: check_all was still waiting 60 s (virtual) {last}: the channel never \
                 closed, so some Sender is still alive",
                fleet.name
            );
        };
        let elapsed = start.elapsed();

        check_reports(&fleet, reports);
        assert!(
            elapsed <= slowest + Duration::from_millis(1),
            "with {}: check_all returned {elapsed:?} after starting, but the last probe had \
             reported {slowest:?} after the start: it should return as soon as the last report \
             is in, not wait out a timer",
            fleet.name
        );
    }
}
