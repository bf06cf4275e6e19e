//! A client of the server's JSON API, shared by `admin`, `gate` and `approve`.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

/// What the server answered with a status of 400 or more.
#[derive(Debug, thiserror::Error)]
#[error("the server refused ({status}): {message}")]
pub struct Refused {
    pub status: u16,
    pub message: String,
}

/// Calls the API at `base` with a bearer token.
#[derive(Debug)]
pub struct ApiClient {
    agent: ureq::Agent,
    base: String,
    token: String,
}

impl ApiClient {
    pub fn new(base: &str, token: String, timeout: Duration, insecure: bool) -> Self {
        Self {
            agent: portcullis_registry_client::http_agent(
                concat!("portcullis/", env!("CARGO_PKG_VERSION")),
                timeout,
                insecure,
            ),
            base: base.trim_end_matches('/').to_owned(),
            token,
        }
    }

    /// The server's URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call("GET", path, None)
    }

    pub fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call("POST", path, Some(body))
    }

    /// One request; a refusal is a [`Refused`] error carrying the server's message.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.token);
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call(),
            ("DELETE", _) => self
                .agent
                .delete(&url)
                .header("Authorization", &auth)
                .call(),
            (_, Some(body)) => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .header("Content-Type", "application/json")
                .send(body.to_string().as_bytes()),
            (_, None) => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .send_empty(),
        }
        .with_context(|| format!("cannot reach the server at {}; check --server", self.base))?;
        let status = response.status().as_u16();
        let text = response
            .into_body()
            .read_to_string()
            .context("failed to read the server's answer")?;
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status >= 400 {
            let message = value
                .pointer("/error/message")
                .and_then(Value::as_str)
                .map_or_else(|| value.to_string(), str::to_owned);
            return Err(Refused { status, message }.into());
        }
        Ok(value)
    }
}

/// Encodes a query parameter's value.
pub fn query_value(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
