//! The HTTP routes of docs/workshop.md: who may call each, how bodies are read, and how every
//! refusal becomes a status with a JSON `ErrorBody` that says what was wrong.

use crate::state::{Refusal, Room, Viewer};
use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::Stream;
use room_protocol::{self, ErrorBody, JoinRequest, KataState, Pacing, RemoveLearners, Report};
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

const PAGE: &str = include_str!("page.html");

/// Keeps idle feeds open through proxies and lets browsers notice a dead server.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The page may load nothing from anywhere: it is one file, and the room may be offline.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; \
    style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; \
    form-action 'none'";

pub fn router(room: Room) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/events", get(events))
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/room", get(room_view))
        .route("/api/join", axum::routing::post(join))
        .route("/api/report", axum::routing::post(report))
        .route("/api/pacing", get(get_pacing).post(set_pacing))
        .route(
            "/api/learners/{learner}",
            axum::routing::delete(remove_learner),
        )
        .route("/api/learners/remove", axum::routing::post(remove_learners))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "no such route: see docs/workshop.md")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "this route does not take that method",
            )
        })
        .layer(axum::extract::DefaultBodyLimit::max(
            room_protocol::MAX_BODY_BYTES,
        ))
        .with_state(room)
}

/// A refusal on the wire.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// For 429: when to try again.
    retry_after: Option<Duration>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        match refusal {
            Refusal::Unauthorized(m) => ApiError::new(StatusCode::UNAUTHORIZED, m),
            Refusal::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            Refusal::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, m),
            Refusal::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
            Refusal::Invalid(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m),
            Refusal::TooSoon(m, wait) => ApiError {
                retry_after: Some(wait),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, m)
            },
            Refusal::Failed(m) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the room could not save this: {m}"),
            ),
        }
    }
}

/// A JSON body read our way: 413 over the limit, 400 when it is not JSON, 422 when it is JSON
/// of the wrong shape. Unlike axum's `Json` it does not insist on a content type.
pub struct Body<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the request body is larger than the room takes ({} bytes)",
                        room_protocol::MAX_BODY_BYTES
                    ),
                )
            } else {
                ApiError::new(rejection.status(), rejection.body_text())
            }
        })?;
        serde_json::from_slice(&bytes).map(Body).map_err(|err| {
            if err.is_data() {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("the request body does not have the expected fields: {err}"),
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("the request body is not valid JSON: {err}"),
                )
            }
        })
    }
}

/// The bearer token of a request, or 401.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing `Authorization: Bearer <token>` header",
            )
        })
}

#[derive(Deserialize)]
struct Access {
    code: Option<String>,
    key: Option<String>,
}

fn viewer(
    room: &Room,
    access: Result<Query<Access>, axum::extract::rejection::QueryRejection>,
) -> Result<Viewer, ApiError> {
    let Query(access) =
        access.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    room.viewer(access.code.as_deref(), access.key.as_deref())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "add the room code (?code=...) or the instructor key (?key=...) to the address",
            )
        })
}

async fn page(
    State(room): State<Room>,
    access: Result<Query<Access>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    viewer(&room, access)?;
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_POLICY),
        ),
        // The address holds the code or the key: keep it out of other sites' logs.
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    Ok((headers, PAGE).into_response())
}

async fn room_view(
    State(room): State<Room>,
    access: Result<Query<Access>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    viewer(&room, access)?;
    Ok(Json(room.room_view()).into_response())
}

async fn events(
    State(room): State<Room>,
    access: Result<Query<Access>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    viewer(&room, access)?;
    Ok(Sse::new(feed(room)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// The whole room, then every change, until the server shuts down. A viewer that falls behind
/// gets the whole room again instead of what it missed.
fn feed(room: Room) -> impl Stream<Item = Result<Event, Infallible>> {
    let (first, changes) = room.follow();
    let closing = room.closing();
    let start = futures::stream::once(async move { Ok(first) });
    let rest = futures::stream::unfold(
        (room, changes, closing),
        |(room, mut changes, mut closing)| async move {
            enum Next {
                Event(Event),
                Behind,
                End,
            }
            let next = tokio::select! {
                biased;
                _ = closing.wait_for(|closed| *closed) => Next::End,
                got = changes.recv() => match got {
                    Ok(event) => Next::Event(event),
                    Err(RecvError::Lagged(_)) => Next::Behind,
                    Err(RecvError::Closed) => Next::End,
                },
            };
            match next {
                Next::Event(event) => Some((Ok(event), (room, changes, closing))),
                Next::Behind => {
                    let (whole, changes) = room.follow();
                    Some((Ok(whole), (room, changes, closing)))
                }
                Next::End => None,
            }
        },
    );
    futures::StreamExt::chain(start, rest)
}

async fn join(
    State(room): State<Room>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    Body(request): Body<JoinRequest>,
) -> Result<Json<room_protocol::Joined>, ApiError> {
    // Every attempt counts, refused ones too: guessing codes or names costs the same.
    room.admit_join(peer.ip())?;
    let joined = room.join(request)?.committed().await?;
    Ok(Json(joined))
}

async fn report(
    State(room): State<Room>,
    headers: HeaderMap,
    Body(report): Body<IncomingReport>,
) -> Result<Json<room_protocol::Ack>, ApiError> {
    let token = bearer(&headers)?;
    let ack = room.report(token, report.into())?.committed().await?;
    Ok(Json(ack))
}

async fn get_pacing(
    State(room): State<Room>,
    headers: HeaderMap,
) -> Result<Json<Pacing>, ApiError> {
    let token = bearer(&headers)?;
    if !(room.is_learner(token) || room.is_instructor(token)) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unknown learner token: join the room first (`cargo kata join`)",
        ));
    }
    Ok(Json(room.pacing()))
}

async fn set_pacing(
    State(room): State<Room>,
    headers: HeaderMap,
    Body(body): Body<serde_json::Value>,
) -> Result<Json<Pacing>, ApiError> {
    let key = bearer(&headers)?;
    if !room.is_instructor(key) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "only the instructor's key can change the pacing",
        ));
    }
    let pacing =
        pacing_request(&body).map_err(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m))?;
    let pacing = room.set_pacing(pacing)?.committed().await?;
    Ok(Json(pacing))
}

/// A pacing body: exactly `{"unlocked_through": N}` or `{"unlocked_through": null}`. A missing
/// or misspelt field would otherwise read as null and open every kata.
fn pacing_request(body: &serde_json::Value) -> Result<Pacing, String> {
    const FIELD: &str = "unlocked_through";
    let Some(fields) = body.as_object() else {
        return Err(format!(
            "the pacing is an object: {{\"{FIELD}\": N or null}}"
        ));
    };
    if let Some(other) = fields.keys().find(|k| k.as_str() != FIELD) {
        return Err(format!(
            "unknown field `{other}`: the pacing has only `{FIELD}` (a kata number, or null to \
             open every kata)"
        ));
    }
    let unlocked_through = match fields.get(FIELD) {
        None => {
            return Err(format!(
                "missing `{FIELD}` (a kata number, or null to open every kata)"
            ))
        }
        Some(serde_json::Value::Null) => None,
        Some(value) => Some(
            value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| format!("`{FIELD}` is a kata number or null, not {value}"))?,
        ),
    };
    Ok(Pacing { unlocked_through })
}

async fn remove_learner(
    State(room): State<Room>,
    headers: HeaderMap,
    axum::extract::Path(learner): axum::extract::Path<String>,
) -> Result<Json<room_protocol::Removed>, ApiError> {
    let key = bearer(&headers)?;
    if !room.is_instructor(key) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "only the instructor's key can remove a learner",
        ));
    }
    let mut removed = room.remove_many(vec![learner])?.committed().await?;
    let learner = removed.learners.pop().unwrap_or_default();
    Ok(Json(room_protocol::Removed { learner }))
}

async fn remove_learners(
    State(room): State<Room>,
    headers: HeaderMap,
    Body(request): Body<RemoveLearners>,
) -> Result<Json<room_protocol::RemovedMany>, ApiError> {
    let key = bearer(&headers)?;
    if !room.is_instructor(key) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "only the instructor's key can remove learners",
        ));
    }
    let removed = room.remove_many(request.learners)?.committed().await?;
    Ok(Json(removed))
}

/// A `Report` as it arrives: the same fields, but a kata named twice is refused instead of the
/// later entry silently winning.
#[derive(Deserialize)]
struct IncomingReport {
    protocol: u32,
    room_code: String,
    seq: u64,
    katas: UniqueKatas,
}

impl From<IncomingReport> for Report {
    fn from(incoming: IncomingReport) -> Report {
        Report {
            protocol: incoming.protocol,
            room_code: incoming.room_code,
            seq: incoming.seq,
            katas: incoming.katas.0,
        }
    }
}

struct UniqueKatas(BTreeMap<String, KataState>);

impl<'de> Deserialize<'de> for UniqueKatas {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = UniqueKatas;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of kata states keyed by kata name")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueKatas, A::Error> {
                let mut katas = BTreeMap::new();
                while let Some((name, state)) = map.next_entry::<String, KataState>()? {
                    if katas.contains_key(&name) {
                        return Err(serde::de::Error::custom(format!(
                            "kata `{name}` appears twice"
                        )));
                    }
                    katas.insert(name, state);
                }
                Ok(UniqueKatas(katas))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Options;
    use futures::StreamExt;

    /// The kind of an event, read back from its wire form.
    fn kind(event: &Event) -> String {
        let text = format!("{event:?}");
        ["room", "learner", "summary", "pacing"]
            .into_iter()
            .find(|k| text.contains(&format!("event: {k}")))
            .unwrap_or("?")
            .to_string()
    }

    #[test]
    fn a_viewer_that_falls_behind_gets_the_whole_room_and_feeds_end_on_close() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let katas = (1..=3)
                .map(|order| room_protocol::KataColumn {
                    name: format!("0{order}-k"),
                    order,
                    title: "k".into(),
                })
                .collect();
            let room = Room::open(Options {
                db: &dir.path().join("room.db"),
                katas,
                new_room: true,
                code: Some("test"),
                unlock_through: None,
                replace_pacing: false,
                rotate_key: false,
                max_learners: 10,
                joins_per_minute: 0,
                keep_key: &|_| Ok(None),
            })
            .await
            .unwrap()
            .room;
            let mut events = Box::pin(feed(room.clone()));
            let first = events.next().await.unwrap().unwrap();
            assert_eq!(kind(&first), "room");

            room.set_pacing(Pacing {
                unlocked_through: Some(1),
            })
            .unwrap()
            .committed()
            .await
            .unwrap();
            assert_eq!(kind(&events.next().await.unwrap().unwrap()), "pacing");

            // Far more changes than the feed holds, while the viewer reads nothing.
            // Changes reach the feed once saved: wait for the last one before reading.
            let mut last = None;
            for n in 0..3000 {
                last = Some(room.set_pacing(Pacing {
                    unlocked_through: Some(n % 2 + 2),
                }));
            }
            last.unwrap().unwrap().committed().await.unwrap();
            assert_eq!(kind(&events.next().await.unwrap().unwrap()), "room");
            // The last change asked for is the one that stays, though the one before it was
            // still on its way to the disk when it was asked for.
            assert_eq!(room.pacing().unlocked_through, Some(2999 % 2 + 2));

            // Closing ends the feed at once, even with changes still unread.
            drop(room.set_pacing(Pacing::default()).unwrap());
            room.close().await;
            assert!(
                events.next().await.is_none(),
                "after closing, the feed ends"
            );
        });
    }
}
