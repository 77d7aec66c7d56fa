//! Load on a workshop room: N learners report once a second while one dashboard listens to the
//! event stream; prints the report latency and how long the dashboard waits for each update.
//!
//! ```sh
//! cargo run --release -p kata-room --example room_load -- \
//!     --url http://127.0.0.1:8700 --code CODE [--key KEY] [--learners 200] [--seconds 60]
//! ```
//!
//! bench/room-load.sh starts a server and runs this against it. With `--browser`, the dashboard
//! also runs in headless Chromium and the delay is timed to the page's DOM as well.

#[path = "../tests/browser/mod.rs"]
mod browser;

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::ExitCode;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Parser)]
#[command(about = "Simulates a workshop room's learners reporting to the room's server")]
struct Args {
    /// The room's address, as serve printed it (http://IP:PORT)
    #[arg(long)]
    url: String,
    /// The room code learners join with
    #[arg(long)]
    code: String,
    /// The instructor key, for the event stream (default: the room code, the projector's view)
    #[arg(long)]
    key: Option<String>,
    /// How many learners report
    #[arg(long, default_value_t = 200)]
    learners: usize,
    /// How long each learner reports, once a second
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// How many katas each learner's row holds at most
    #[arg(long, default_value_t = 8)]
    katas: usize,
    /// Also open the dashboard in headless Chromium and time when its page shows each report
    #[arg(long)]
    browser: bool,
}

/// A request slower than this counts as failed: a learner's sync would give up too.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// After the last report, how long the stream may take to show what it has not shown yet.
const STREAM_GRACE: Duration = Duration::from_secs(10);
/// A send that starts this much after its slot means the generator itself fell behind.
const LATE: Duration = Duration::from_millis(250);

/// Failure summaries of the kind the checker sends: one test and its message, or one error.
const FAILURES: [&str; 4] = [
    "sign_up_sends_the_welcome_email: assertion `left == right` failed\n  left: 0\n right: 1",
    "error[E0277]: `Rc<RefCell<Vec<String>>>` cannot be sent between threads safely",
    "blocks_the_runtime: test timed out after 2s (a blocking call on a runtime thread?)",
    "drops_the_sender_to_close: the receiver never saw None; a Sender clone is still alive",
];

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("room_load: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// One report as its learner saw it.
struct Sent {
    seq: u64,
    at: Instant,
    /// `at` on the wall clock, in Unix milliseconds: the browser's clock to compare with.
    wall_ms: f64,
    /// Send to 200 received; None when the request failed.
    latency: Option<Duration>,
    late: bool,
}

/// One learner's row as the event stream showed it.
struct Seen {
    learner: String,
    seq: u64,
    at: Instant,
}

/// Every request goes straight to the loopback address checked at start: no proxy from the
/// environment, and no redirect followed elsewhere.
fn agent(timeout: Option<Duration>) -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(timeout)
            .proxy(None)
            .max_redirects(0)
            .build(),
    )
}

/// The room's address without a trailing slash, if it is on this machine: `http://` and a
/// loopback IP (127.0.0.0/8, [::1]) or `localhost`. The load is a flood of requests, so it
/// is sent to nothing else.
fn loopback_base(url: &str) -> Result<String> {
    let refuse = |why: &str| {
        anyhow::anyhow!(
            "--url {url}: {why}; room_load sends its load only to this machine: give \
             http://127.0.0.1:PORT (any 127.x.y.z), http://[::1]:PORT or http://localhost:PORT"
        )
    };
    let base = url.trim_end_matches('/');
    let rest = base
        .strip_prefix("http://")
        .ok_or_else(|| refuse("not an http:// address"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(refuse("an address with a user name is not a room's"));
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed
            .split_once(']')
            .map(|(host, after)| (host, after.strip_prefix(':')))
            .filter(|(_, port)| port.is_some() || authority.ends_with(']'))
            .ok_or_else(|| refuse("not a valid [IPv6]:PORT"))?,
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return Err(refuse("the port is not a number from 0 to 65535"));
    }
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(refuse(&format!("`{host}` is not a loopback address")));
    }
    Ok(base.to_string())
}

/// Reads a JSON answer, turning a non-200 into an error that quotes the server.
fn json_answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Value> {
    let mut response = response?;
    let status = response.status();
    let text = response.body_mut().read_to_string()?;
    if status != 200 {
        bail!("answered {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("answered something not JSON: {text}"))
}

fn run(args: Args) -> Result<bool> {
    let base = loopback_base(&args.url)?;
    if args.learners == 0 || args.seconds == 0 {
        bail!("--learners and --seconds must be at least 1");
    }
    let setup = agent(Some(REQUEST_TIMEOUT));

    let room = json_answer(
        setup
            .get(format!("{base}/api/room"))
            .query("code", &args.code)
            .call(),
    )
    .with_context(|| format!("GET {base}/api/room"))?;
    let katas: Vec<String> = room["katas"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|k| k["name"].as_str().map(str::to_string))
                .take(args.katas.max(1))
                .collect()
        })
        .unwrap_or_default();
    if katas.is_empty() {
        bail!("the room lists no katas: {room}");
    }

    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let stream_broke = Arc::new(Mutex::new(None::<String>));
    let connected = listen(&base, &args, seen.clone(), stream_broke.clone())?;
    connected
        .recv_timeout(Duration::from_secs(30))
        .context("the event stream sent no `room` event within 30 s")?;

    // A name no earlier run against the same room holds.
    let run_id = std::process::id();
    let mut learners = Vec::with_capacity(args.learners);
    for i in 0..args.learners {
        let name = format!("load {run_id} {i:03}");
        let joined = json_answer(
            setup
                .post(format!("{base}/api/join"))
                .send_json(json!({ "room_code": args.code, "name": name })),
        )
        .with_context(|| format!("join as {name:?}"))?;
        let (Some(id), Some(token)) = (joined["learner"].as_str(), joined["token"].as_str()) else {
            bail!("join answered without learner and token: {joined}");
        };
        learners.push((id.to_string(), token.to_string()));
    }
    println!(
        "room load: {} learners report every second for {} s to {base} ({} katas a row); \
         the dashboard listens with the {}",
        args.learners,
        args.seconds,
        katas.len(),
        if args.key.is_some() {
            "instructor key"
        } else {
            "room code"
        },
    );

    let mut dashboard = match args.browser {
        true => Some(Dashboard::open(&base, &args)?),
        false => None,
    };

    let katas = Arc::new(katas);
    let start = Instant::now() + Duration::from_millis(200);
    let mut threads = Vec::with_capacity(learners.len());
    for (i, (id, token)) in learners.iter().cloned().enumerate() {
        // Staggered across the first second, as a real room's saves would be.
        let first = start + Duration::from_secs(1) * i as u32 / args.learners as u32;
        let (code, base, katas, seconds) =
            (args.code.clone(), base.clone(), katas.clone(), args.seconds);
        let thread = std::thread::Builder::new()
            .name(format!("learner {i}"))
            .stack_size(256 * 1024)
            .spawn(move || learner(i, &base, &code, &token, &katas, first, seconds))
            .context("cannot start a learner thread")?;
        threads.push((id, thread));
    }
    let mut sent: HashMap<String, Vec<Sent>> = HashMap::new();
    for (id, thread) in threads {
        match thread.join() {
            Ok(reports) => {
                sent.insert(id, reports);
            }
            Err(_) => bail!("a learner thread panicked"),
        }
    }

    // Give the stream a bounded while to show what it has not shown yet.
    let grace_ends = Instant::now() + STREAM_GRACE;
    loop {
        let missing = unseen(&sent, &seen.lock().unwrap_or_else(|p| p.into_inner()));
        if missing == 0 || Instant::now() > grace_ends {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    let broke = stream_broke
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let held = summarise(&sent, &seen, broke);
    if let Some(dashboard) = dashboard.as_mut() {
        dashboard.summarise(&sent)?;
    }
    Ok(held)
}

fn unix_millis() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// The dashboard in headless Chromium, noting when its DOM shows each learner's report.
struct Dashboard {
    _chromium: browser::Chromium,
    page: browser::Page,
}

/// Notes each row's new `data-seq` with the page's own wall clock, as the DOM changes.
const OBSERVE: &str = r#"(() => {
  window.__kataApplied = [];
  new MutationObserver((records) => {
    const at = performance.timeOrigin + performance.now();
    for (const r of records) {
      const tr = r.target;
      if (tr.dataset && tr.dataset.learner) {
        window.__kataApplied.push([tr.dataset.learner, Number(tr.dataset.seq), at]);
      }
    }
  }).observe(document.querySelector('table#room'),
             { subtree: true, attributes: true, attributeFilter: ['data-seq'] });
  return true;
})()"#;

impl Dashboard {
    fn open(base: &str, args: &Args) -> Result<Dashboard> {
        let chromium = browser::Chromium::start()?;
        let mut page = chromium.page()?;
        let access = match &args.key {
            Some(key) => format!("key={key}"),
            None => format!("code={}", args.code),
        };
        page.navigate(&format!("{base}/?{access}"))?;
        let rows = "document.querySelectorAll('table#room tr[data-learner]').length";
        let learners = args.learners as u64;
        page.wait_for(
            "the dashboard to show every learner",
            Duration::from_secs(60),
            rows,
            |n| n.as_u64().is_some_and(|n| n >= learners),
        )?;
        page.eval(OBSERVE)?;
        println!("the dashboard is open in headless Chromium; its DOM is timed too");
        Ok(Dashboard {
            _chromium: chromium,
            page,
        })
    }

    /// Prints when the page's DOM first showed each accepted report (or a newer one).
    fn summarise(&mut self, sent: &HashMap<String, Vec<Sent>>) -> Result<()> {
        // The page draws once per frame: give it a bounded while to draw the last reports.
        let last: HashMap<&str, u64> = sent
            .iter()
            .filter_map(|(learner, reports)| {
                let seq = reports
                    .iter()
                    .filter(|r| r.latency.is_some())
                    .map(|r| r.seq)
                    .max()?;
                Some((learner.as_str(), seq))
            })
            .collect();
        let drawn = format!(
            "Object.entries({}).every(([learner, seq]) => {{ \
               const tr = document.querySelector(`tr[data-learner=\"${{learner}}\"]`); \
               return !!tr && Number(tr.dataset.seq) >= seq; }})",
            serde_json::to_string(&last)?
        );
        let _ = self.page.wait_for(
            "the page to draw the last reports",
            STREAM_GRACE,
            &drawn,
            |done| done == &Value::Bool(true),
        );
        let text = self
            .page
            .eval("JSON.stringify(window.__kataApplied || [])")?;
        let applied: Vec<(String, u64, f64)> =
            serde_json::from_str(text.as_str().unwrap_or("[]")).context("the page's notes")?;
        let mut by_learner: HashMap<&str, Vec<(u64, f64)>> = HashMap::new();
        for (learner, seq, at) in &applied {
            by_learner
                .entry(learner.as_str())
                .or_default()
                .push((*seq, *at));
        }
        let mut delays = Vec::new();
        let mut never = 0;
        for (learner, reports) in sent {
            let shown = by_learner
                .get(learner.as_str())
                .map_or(&[][..], Vec::as_slice);
            for report in reports.iter().filter(|r| r.latency.is_some()) {
                match shown.iter().find(|(seq, _)| *seq >= report.seq) {
                    Some((_, at)) => delays.push(Duration::from_secs_f64(
                        ((at - report.wall_ms) / 1000.0).max(0.0),
                    )),
                    None => never += 1,
                }
            }
        }
        println!("page update delay (send to DOM):    {}", spread(delays));
        println!("  the page never showed {never} of the accepted reports");
        Ok(())
    }
}

/// Opens the event stream on a thread of its own; the channel fires on the first `room` event.
fn listen(
    base: &str,
    args: &Args,
    seen: Arc<Mutex<Vec<Seen>>>,
    broke: Arc<Mutex<Option<String>>>,
) -> Result<mpsc::Receiver<()>> {
    let (param, secret) = match &args.key {
        Some(key) => ("key", key.clone()),
        None => ("code", args.code.clone()),
    };
    // No timeout: the stream stays open for the whole run.
    let response = agent(None)
        .get(format!("{base}/events"))
        .query(param, &secret)
        .header("Accept", "text/event-stream")
        .call()
        .with_context(|| format!("GET {base}/events"))?;
    if response.status() != 200 {
        bail!("GET {base}/events answered {}", response.status());
    }
    let (tx, rx) = mpsc::channel();
    let reader = BufReader::new(response.into_body().into_reader());
    std::thread::Builder::new()
        .name("event stream".into())
        .spawn(move || {
            let error = match read_events(reader, &seen, &tx) {
                Ok(()) => "the server closed the event stream".to_string(),
                Err(e) => format!("the event stream broke: {e:#}"),
            };
            *broke.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
        })
        .context("cannot start the stream thread")?;
    Ok(rx)
}

/// Server-sent events: `event:` and `data:` lines, dispatched at a blank line.
fn read_events(
    reader: impl BufRead,
    seen: &Mutex<Vec<Seen>>,
    connected: &mpsc::Sender<()>,
) -> Result<()> {
    let mut kind = String::new();
    let mut data = String::new();
    for line in reader.lines() {
        let line = line?;
        if line.is_empty() {
            let at = Instant::now();
            let rows = match kind.as_str() {
                "learner" => vec![serde_json::from_str::<Value>(&data)?],
                "room" => {
                    let _ = connected.send(());
                    let view: Value = serde_json::from_str(&data)?;
                    view["learners"].as_array().cloned().unwrap_or_default()
                }
                _ => Vec::new(),
            };
            let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
            for row in rows {
                if let (Some(learner), Some(seq)) = (row["learner"].as_str(), row["seq"].as_u64()) {
                    seen.push(Seen {
                        learner: learner.to_string(),
                        seq,
                        at,
                    });
                }
            }
            kind.clear();
            data.clear();
        } else if let Some(value) = line.strip_prefix("event:") {
            kind = value.trim_start().to_string();
        } else if let Some(value) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    Ok(())
}

/// One learner: a report every second from `first` on, with a row that moves on as they work.
fn learner(
    index: usize,
    base: &str,
    code: &str,
    token: &str,
    katas: &[String],
    first: Instant,
    seconds: u64,
) -> Vec<Sent> {
    let agent = agent(Some(REQUEST_TIMEOUT));
    let url = format!("{base}/api/report");
    let bearer = format!("Bearer {token}");
    let mut reports = Vec::with_capacity(seconds as usize);
    for round in 0..seconds {
        let slot = first + Duration::from_secs(round);
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
        }
        let seq = round + 1;
        let body = json!({
            "protocol": 1,
            "room_code": code,
            "seq": seq,
            "katas": row(index, round, katas),
        });
        let at = Instant::now();
        let wall_ms = unix_millis();
        let outcome = agent
            .post(&url)
            .header("Authorization", &bearer)
            .send_json(&body);
        let latency = match outcome {
            Ok(mut response) if response.status() == 200 => {
                // Read the whole answer: the report is done when its Ack has arrived.
                response
                    .body_mut()
                    .read_to_string()
                    .ok()
                    .map(|_| at.elapsed())
            }
            Ok(mut response) => {
                let text = response.body_mut().read_to_string().unwrap_or_default();
                eprintln!("learner {index} seq {seq}: {} {text}", response.status());
                None
            }
            Err(e) => {
                eprintln!("learner {index} seq {seq}: {e}");
                None
            }
        };
        reports.push(Sent {
            seq,
            at,
            wall_ms,
            latency,
            late: at.duration_since(slot) > LATE,
        });
    }
    reports
}

/// The learner's row after `round` seconds: a kata every few rounds, each failing a few times
/// (with a failure, attempts and the odd hint) before it passes.
fn row(index: usize, round: u64, katas: &[String]) -> Map<String, Value> {
    let pace = 3 + (index % 5) as u64;
    let progress = round + index as u64 % 7;
    let current = ((progress / pace) as usize).min(katas.len() - 1);
    let mut row = Map::new();
    for (k, name) in katas.iter().enumerate().take(current + 1) {
        let state = if k < current {
            let status = if (index + k).is_multiple_of(11) {
                "passed-after-solution"
            } else {
                "passed"
            };
            json!({ "status": status, "attempts": 2 + (index + k) % 4, "hints": k % 2 })
        } else {
            let failure = FAILURES[(index + k + round as usize) % FAILURES.len()];
            json!({
                "status": "failing",
                "attempts": 1 + progress % pace,
                "hints": (progress % pace) / 2,
                "failure": failure,
            })
        };
        row.insert(name.clone(), state);
    }
    row
}

/// For each learner, when the stream first showed each accepted report: the first row with its
/// seq or a newer one (a newer row shows the page already past it). Yields (delay, exact).
fn first_sight(sent: &HashMap<String, Vec<Sent>>, seen: &[Seen]) -> Vec<Option<(Duration, bool)>> {
    let mut by_learner: HashMap<&str, Vec<&Seen>> = HashMap::new();
    for s in seen {
        by_learner.entry(s.learner.as_str()).or_default().push(s);
    }
    let mut out = Vec::new();
    for (learner, reports) in sent {
        let rows = by_learner
            .get(learner.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for report in reports.iter().filter(|r| r.latency.is_some()) {
            let first = rows.iter().find(|s| s.seq >= report.seq);
            out.push(first.map(|s| {
                (
                    s.at.saturating_duration_since(report.at),
                    s.seq == report.seq,
                )
            }));
        }
    }
    out
}

fn unseen(sent: &HashMap<String, Vec<Sent>>, seen: &[Seen]) -> usize {
    first_sight(sent, seen)
        .iter()
        .filter(|s| s.is_none())
        .count()
}

/// Nearest-rank percentile of sorted durations.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn spread(mut all: Vec<Duration>) -> String {
    all.sort();
    format!(
        "p50 {} ms  p95 {} ms  p99 {} ms  max {} ms",
        millis(percentile(&all, 50.0)),
        millis(percentile(&all, 95.0)),
        millis(percentile(&all, 99.0)),
        millis(all.last().copied().unwrap_or_default()),
    )
}

/// Prints the figures; true when every request succeeded and the stream held.
fn summarise(sent: &HashMap<String, Vec<Sent>>, seen: &[Seen], broke: Option<String>) -> bool {
    let all: Vec<&Sent> = sent.values().flatten().collect();
    let latencies: Vec<Duration> = all.iter().filter_map(|r| r.latency).collect();
    let failed = all.len() - latencies.len();
    let late = all.iter().filter(|r| r.late).count();
    let sights = first_sight(sent, seen);
    let delays: Vec<Duration> = sights.iter().flatten().map(|(d, _)| *d).collect();
    let newer = sights.iter().flatten().filter(|(_, exact)| !exact).count();
    let never = sights.iter().filter(|s| s.is_none()).count();

    let first = all.iter().map(|r| r.at).min();
    let last = all.iter().filter_map(|r| r.latency.map(|l| r.at + l)).max();
    let rate = match (first, last) {
        (Some(first), Some(last)) if last > first => {
            latencies.len() as f64 / (last - first).as_secs_f64()
        }
        _ => 0.0,
    };

    println!(
        "reports: sent {}, ok {}, failed {failed}; achieved {rate:.1} reports/s",
        all.len(),
        latencies.len()
    );
    if late > 0 {
        println!(
            "  {late} sends started over {} ms after their slot: the generator fell behind",
            LATE.as_millis()
        );
    }
    println!("report latency (send to 200):       {}", spread(latencies));
    println!("event stream delay (send to event): {}", spread(delays));
    println!(
        "  events: {} of the accepted reports seen ({newer} only through a newer seq), {never} never seen",
        sights.len() - never,
    );
    if let Some(broke) = &broke {
        println!("  {broke}");
    }
    failed == 0 && broke.is_none()
}

#[cfg(test)]
mod tests {
    use super::loopback_base;

    #[test]
    fn only_loopback_addresses_are_loaded() {
        for fine in [
            "http://127.0.0.1:8700",
            "http://127.0.0.1:8700/",
            "http://127.1.2.3:8700",
            "http://[::1]:8700",
            "http://[::1]",
            "http://localhost:8700",
            "http://LOCALHOST",
        ] {
            let base = loopback_base(fine).unwrap_or_else(|e| panic!("{fine}: {e:#}"));
            assert!(!base.ends_with('/'), "{base}");
        }
        for refused in [
            "http://10.0.0.5:8700",
            "http://192.168.1.20:8700",
            "http://0.0.0.0:8700",
            "http://[::]:8700",
            "http://[2001:db8::1]:8700",
            "http://example.com",
            "http://localhost.example.com:8700",
            "http://127.0.0.1.example.com:8700",
            "http://127.0.0.1:8700@example.com",
            "http://user@127.0.0.1:8700",
            "http://127.0.0.1:port",
            "http://[::1]x",
            "https://127.0.0.1:8700",
            "127.0.0.1:8700",
        ] {
            let error = loopback_base(refused).expect_err(refused).to_string();
            assert!(
                error.contains(refused) && error.contains("only to this machine"),
                "{refused}: {error}"
            );
        }
    }
}
