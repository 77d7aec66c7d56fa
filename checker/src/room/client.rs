//! The learner's HTTP calls to the room. Blocking and short: every call gives up after a few
//! seconds, and it runs in the background sync process, never in the learner's loop.

use super::wire::{Ack, ErrorBody, JoinRequest, Joined, Pacing, Report};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// Why a call to the room failed.
#[derive(Debug)]
pub enum RoomError {
    /// No answer: the server is down, the address is wrong, or the network is away. Try later.
    Unreachable(String),
    /// The room answered and refused, with its reason.
    Refused { status: u16, message: String },
}

/// How a refusal's message starts, so others can tell it from an unreachable room.
pub const REFUSED: &str = "the room refused";

impl std::fmt::Display for RoomError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RoomError::Unreachable(why) => write!(f, "the room is unreachable ({why})"),
            RoomError::Refused { status, message } => {
                write!(f, "{REFUSED} ({status}): {message}")
            }
        }
    }
}

impl std::error::Error for RoomError {}

pub struct Client {
    agent: ureq::Agent,
    base: String,
}

impl Client {
    pub fn new(url: &str, timeout: Duration) -> Client {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(2))))
            // 4xx answers carry a reason in JSON; read it instead of getting a bare error.
            .http_status_as_error(false)
            .build();
        Client {
            agent: config.into(),
            base: url.trim_end_matches('/').to_string(),
        }
    }

    pub fn join(&self, request: &JoinRequest) -> Result<Joined, RoomError> {
        self.send(self.agent.post(self.url("/api/join")), request)
    }

    pub fn report(&self, token: &str, report: &Report) -> Result<Ack, RoomError> {
        let request = self
            .agent
            .post(self.url("/api/report"))
            .header("Authorization", format!("Bearer {token}"));
        self.send(request, report)
    }

    pub fn pacing(&self, token: &str) -> Result<Pacing, RoomError> {
        let response = self
            .agent
            .get(self.url("/api/pacing"))
            .header("Authorization", format!("Bearer {token}"))
            .call();
        answer(response)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn send<T: DeserializeOwned>(
        &self,
        request: ureq::RequestBuilder<ureq::typestate::WithBody>,
        body: &impl Serialize,
    ) -> Result<T, RoomError> {
        answer(request.send_json(body))
    }
}

fn answer<T: DeserializeOwned>(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<T, RoomError> {
    let mut response = response.map_err(|e| RoomError::Unreachable(e.to_string()))?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        return response
            .body_mut()
            .read_json()
            .map_err(|e| RoomError::Refused {
                status,
                message: format!("an answer that is not the room's JSON ({e})"),
            });
    }
    let message = match response.body_mut().read_to_string() {
        Ok(text) => serde_json::from_str::<ErrorBody>(&text)
            .map(|body| body.error)
            .unwrap_or(text),
        Err(e) => e.to_string(),
    };
    Err(RoomError::Refused { status, message })
}
