//! Each test installs a small tracing subscriber for its own thread that records every event
//! with the request span it was recorded in: the innermost current span that has a `request_id`
//! field. The tests run on a current-thread runtime, so every task runs on that thread, and on a
//! paused clock, so the fake database "takes" its latency in virtual time and the tasks
//! interleave the same way on every run.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spans_across_await::{handle_request, Database, Order, Request, User, UserId};
use tokio::time::{sleep, timeout};
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
    /// The `request_id` of the innermost current span that has one, if any.
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
        // From the innermost span outwards: the first one with a request id.
        let request_id = ctx.event_scope(event).and_then(|mut scope| {
            scope.find_map(|span| span.extensions().get::<RequestId>().map(|id| id.0))
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

/// Ada's lookups take 30 ms and 40 ms, Grace's 10 ms and 50 ms: two requests started together
/// are both in flight from 0 to 60 ms, each resuming while the other is suspended.
fn fake_db() -> Arc<FakeDb> {
    let rows = HashMap::from([
        (
            ADA,
            Row {
                name: "Ada",
                user_latency: Duration::from_millis(30),
                orders: vec![
                    Order {
                        id: 1,
                        total_cents: 1999,
                    },
                    Order {
                        id: 2,
                        total_cents: 450,
                    },
                ],
                orders_latency: Duration::from_millis(40),
            },
        ),
        (
            GRACE,
            Row {
                name: "Grace",
                user_latency: Duration::from_millis(10),
                orders: vec![Order {
                    id: 3,
                    total_cents: 12_000,
                }],
                orders_latency: Duration::from_millis(50),
            },
        ),
    ]);
    Arc::new(FakeDb { rows })
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Request 1 is Ada's, request 2 Grace's.
fn requests() -> [Request; 2] {
    [Request { id: 1, user: ADA }, Request { id: 2, user: GRACE }]
}

fn expected_reply(user: UserId) -> &'static str {
    match user {
        ADA => "Ada has 2 orders worth 2449 cents",
        GRACE => "Grace has 1 orders worth 12000 cents",
        _ => unreachable!(),
    }
}

/// Runs the requests the way the server does, one spawned task each, all at once, and checks
/// their replies.
async fn serve(db: &Arc<FakeDb>, requests: &[Request]) {
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
                     database answers within 50 ms: it is stuck",
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
                 the entered-span guard was held across an .await. A span entered with \
                 `span.enter()` stays entered on the thread while its task is suspended, so \
                 whatever task runs next on that thread logs into it",
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
