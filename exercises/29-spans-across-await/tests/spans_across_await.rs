//! Each test installs a small tracing subscriber for its own thread that records every event
//! with the request it was recorded for: the event's own `request_id` field if it has one, or
//! else the `request_id` of the innermost current span that has one. The tests run on a
//! current-thread runtime, so every task runs on that thread, and on a paused clock, so the fake
//! database "takes" its latency in virtual time and the tasks interleave the same way on every
//! run.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spans_across_await::{handle_request, Database, Order, Request, User, UserId};
use tokio::time::{sleep, timeout, Instant};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Far longer than any request takes.
const PATIENCE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// The recording subscriber.

/// One event, as the subscriber saw it.
#[derive(Debug, Clone)]
struct Recorded {
    message: String,
    /// The event's own `request_id` field, or else the `request_id` of the innermost current
    /// span that has one, if any.
    request_id: Option<u64>,
}

/// A tracing layer that records every event into a shared list.
#[derive(Clone, Default)]
struct Recorder {
    events: Arc<Mutex<Vec<Recorded>>>,
}

impl Recorder {
    fn events(&self) -> Vec<Recorded> {
        self.events.lock().unwrap().clone()
    }
}

/// Stored in a span's extensions: the value of its `request_id` field.
struct RequestId(u64);

/// Picks the `message` and `request_id` fields out of an event or a span.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    request_id: Option<u64>,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "request_id" {
            self.request_id = Some(value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "request_id" {
            self.request_id = u64::try_from(value).ok();
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = Some(value.to_string()),
            "request_id" => self.request_id = value.parse().ok(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => self.message = Some(format!("{value:?}")),
            "request_id" => self.request_id = format!("{value:?}").parse().ok(),
            _ => {}
        }
    }
}

impl<S> Layer<S> for Recorder
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let (Some(request_id), Some(span)) = (fields.request_id, ctx.span(id)) {
            span.extensions_mut().insert(RequestId(request_id));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        values.record(&mut fields);
        if let (Some(request_id), Some(span)) = (fields.request_id, ctx.span(id)) {
            span.extensions_mut().replace(RequestId(request_id));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        // The event's own field, or else, from the innermost span outwards, the first span with
        // a request id.
        let request_id = fields.request_id.or_else(|| {
            ctx.event_scope(event).and_then(|mut scope| {
                scope.find_map(|span| span.extensions().get::<RequestId>().map(|id| id.0))
            })
        });
        self.events.lock().unwrap().push(Recorded {
            message: fields.message.unwrap_or_default(),
            request_id,
        });
    }
}

/// Records every event emitted on this thread until the guard is dropped.
fn record_events() -> (Recorder, tracing::subscriber::DefaultGuard) {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    let guard = tracing::subscriber::set_default(subscriber);
    (recorder, guard)
}

// ---------------------------------------------------------------------------------------------
// The fake database.

/// One user in the fake database, and how long each query about them takes.
struct Row {
    name: &'static str,
    user_latency: Duration,
    orders: Vec<Order>,
    orders_latency: Duration,
}

/// Every query logs a line naming the user, like a real database client at debug level, and
/// then takes its latency in virtual time.
struct FakeDb {
    rows: HashMap<UserId, Row>,
}

/// The prefix of every line the fake database logs.
const QUERY: &str = "db query:";

impl Database for FakeDb {
    async fn user(&self, id: UserId) -> User {
        tracing::debug!("{QUERY} name of user {id}");
        let row = &self.rows[&id];
        sleep(row.user_latency).await;
        User {
            id,
            name: row.name.to_string(),
        }
    }

    async fn orders(&self, user: UserId) -> Vec<Order> {
        tracing::debug!("{QUERY} orders of user {user}");
        let row = &self.rows[&user];
        sleep(row.orders_latency).await;
        row.orders.clone()
    }
}

const ADA: UserId = 7;
const GRACE: UserId = 9;

/// Everyone in the fake database: id, name, how long the query for the user takes, their
/// orders' totals, and how long the query for the orders takes (in milliseconds).
const PEOPLE: [(UserId, &str, u64, &[u64], u64); 6] = [
    (ADA, "Ada", 30, &[1999, 450], 40),
    (GRACE, "Grace", 10, &[12_000], 50),
    (11, "Alan", 25, &[], 5),
    (12, "Barbara", 5, &[300, 300, 300], 60),
    (13, "Edsger", 45, &[7], 15),
    (14, "Katherine", 20, &[5000, 1], 20),
];

/// Ada's lookups take 30 ms and 40 ms, Grace's 10 ms and 50 ms: two requests started together
/// are both in flight from 0 to 60 ms, each resuming while the other is suspended. The others'
/// latencies interleave six requests in yet other orders.
fn fake_db() -> Arc<FakeDb> {
    let mut next_order = 1;
    let rows = PEOPLE
        .iter()
        .map(|&(id, name, user_ms, totals, orders_ms)| {
            let orders = totals
                .iter()
                .map(|&total_cents| {
                    next_order += 1;
                    Order {
                        id: next_order,
                        total_cents,
                    }
                })
                .collect();
            let row = Row {
                name,
                user_latency: Duration::from_millis(user_ms),
                orders,
                orders_latency: Duration::from_millis(orders_ms),
            };
            (id, row)
        })
        .collect();
    Arc::new(FakeDb { rows })
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Request 1 is Ada's, request 2 Grace's.
fn requests() -> [Request; 2] {
    [Request { id: 1, user: ADA }, Request { id: 2, user: GRACE }]
}

/// One request for each person in the database, numbered from 1.
fn everyones_requests() -> Vec<Request> {
    (1..)
        .zip(PEOPLE)
        .map(|(id, (user, ..))| Request { id, user })
        .collect()
}

fn person(user: UserId) -> (UserId, &'static str, u64, &'static [u64], u64) {
    PEOPLE
        .into_iter()
        .find(|&(id, ..)| id == user)
        .expect("a user of the fake database")
}

fn expected_reply(user: UserId) -> String {
    let (_, name, _, totals, _) = person(user);
    format!(
        "{name} has {} orders worth {} cents",
        totals.len(),
        totals.iter().sum::<u64>()
    )
}

/// How long the slowest of `requests` takes: the time they take together when they are served
/// concurrently.
fn slowest(requests: &[Request]) -> Duration {
    requests
        .iter()
        .map(|request| {
            let (_, _, user_ms, _, orders_ms) = person(request.user);
            Duration::from_millis(user_ms + orders_ms)
        })
        .max()
        .unwrap_or_default()
}

/// Runs the requests the way the server does, one spawned task each, all at once, and checks
/// their replies, and that they were served concurrently.
async fn serve(db: &Arc<FakeDb>, requests: &[Request]) {
    let start = Instant::now();
    let tasks: Vec<_> = requests
        .iter()
        .map(|&request| {
            let db = Arc::clone(db);
            (
                request,
                tokio::spawn(async move { handle_request(&*db, request).await }),
            )
        })
        .collect();
    for (request, task) in tasks {
        let reply = timeout(PATIENCE, task)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "request {} did not finish within 60 s of virtual time, although the \
                     database answers within 60 ms: it is stuck",
                    request.id
                )
            })
            .unwrap_or_else(|err| panic!("request {} failed: {err}", request.id));
        assert_eq!(
            reply,
            expected_reply(request.user),
            "request {} got the wrong reply",
            request.id
        );
    }
    let took = start.elapsed();
    assert!(
        took <= slowest(requests),
        "{} requests whose slowest takes {:?} of database time took {took:?} together: they \
         were served one after another, not concurrently. The server must keep serving \
         requests at the same time; only the logs have to tell them apart",
        requests.len(),
        slowest(requests)
    );
}

/// The user an event is about: every log line of the handler and of the database names it as
/// "user <id>".
fn user_of(message: &str) -> Option<UserId> {
    let words: Vec<&str> = message.split_whitespace().collect();
    words.windows(2).find_map(|pair| match pair {
        ["user", id] => id.parse().ok(),
        _ => None,
    })
}

/// Checks that each event about one of the `requests`' users was recorded inside that request's
/// span, looking only at the handler's own events (`database` false) or only at the database's.
fn check_spans(events: &[Recorded], requests: &[Request], database: bool) {
    let which = if database {
        "database query"
    } else {
        "log line"
    };
    let mut seen = HashMap::new();
    for event in events {
        if event.message.starts_with(QUERY) != database {
            continue;
        }
        let Some(user) = user_of(&event.message) else {
            continue;
        };
        let Some(request) = requests.iter().find(|request| request.user == user) else {
            continue;
        };
        *seen.entry(request.id).or_insert(0) += 1;
        match event.request_id {
            Some(id) if id == request.id => {}
            Some(id) => panic!(
                "the {which} {:?} of request {} was recorded inside the span of request {id}: \
                 request {id}'s span was still current on the thread while request {id} was \
                 suspended at an .await, so the task that ran next logged into it",
                event.message, request.id
            ),
            None => panic!(
                "the {which} {:?} of request {} was recorded outside any request span: while \
                 request {} runs, its span (with request_id = {}) must be the current span, \
                 also while it awaits the database",
                event.message, request.id, request.id, request.id
            ),
        }
    }
    for request in requests {
        assert!(
            seen.contains_key(&request.id),
            "no {which} of request {} (user {}) was recorded at all; keep the handler's log \
             lines as they are. Recorded: {:?}",
            request.id,
            request.user,
            events.iter().map(|e| &e.message).collect::<Vec<_>>()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[tokio::test(start_paused = true)]
async fn a_request_on_its_own_is_traced_in_its_span() {
    let (recorder, _guard) = record_events();
    let db = fake_db();
    let request = [Request { id: 1, user: ADA }];

    serve(&db, &request).await;

    let events = recorder.events();
    check_spans(&events, &request, false);
    check_spans(&events, &request, true);
}

#[tokio::test(start_paused = true)]
async fn concurrent_requests_log_into_their_own_spans() {
    let (recorder, _guard) = record_events();
    let db = fake_db();

    serve(&db, &requests()).await;

    check_spans(&recorder.events(), &requests(), false);
}

#[tokio::test(start_paused = true)]
async fn database_queries_are_traced_in_their_requests_span() {
    let (recorder, _guard) = record_events();
    let db = fake_db();

    serve(&db, &requests()).await;

    check_spans(&recorder.events(), &requests(), true);
}

#[tokio::test(start_paused = true)]
async fn many_concurrent_requests_keep_their_events_apart() {
    let (recorder, _guard) = record_events();
    let db = fake_db();
    let requests = everyones_requests();

    serve(&db, &requests).await;

    let events = recorder.events();
    check_spans(&events, &requests, false);
    check_spans(&events, &requests, true);
}

#[tokio::test(start_paused = true)]
async fn other_tasks_log_outside_the_requests_spans() {
    let (recorder, _guard) = record_events();
    let db = fake_db();
    // A background task of the server, no part of any request, logs every 5 ms for 150 ms:
    // before, while and after the requests run.
    let heartbeat = tokio::spawn(async {
        for beat in 1..=30 {
            tracing::info!("heartbeat {beat}");
            sleep(Duration::from_millis(5)).await;
        }
    });

    serve(&db, &requests()).await;
    timeout(PATIENCE, heartbeat)
        .await
        .expect("the heartbeat task did not finish")
        .expect("the heartbeat task failed");

    let events = recorder.events();
    let beats: Vec<&Recorded> = events
        .iter()
        .filter(|event| event.message.starts_with("heartbeat"))
        .collect();
    assert_eq!(beats.len(), 30, "the heartbeat task should log 30 times");
    for beat in beats {
        if let Some(id) = beat.request_id {
            panic!(
                "the background task's event {:?}, which belongs to no request, was recorded \
                 inside the span of request {id}: request {id}'s span was still current on \
                 the thread while request {id} was suspended at an .await, so the task that \
                 ran next logged into it",
                beat.message
            );
        }
    }
    check_spans(&events, &requests(), false);
    check_spans(&events, &requests(), true);
}
