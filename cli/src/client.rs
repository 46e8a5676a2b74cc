//! The connection to a running `hearth serve`: server and token come from
//! `--server`/`--token` or `HEARTH_SERVER`/`HEARTH_TOKEN`.

use anyhow::Context as _;
use serde_json::Value;

/// Where the server is and who is asking.
#[derive(Debug, clap::Args)]
pub struct Connection {
    #[arg(long, env = "HEARTH_SERVER", default_value = "http://127.0.0.1:7878", global = true)]
    server: String,
    #[arg(long, env = "HEARTH_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
}

/// The API refused a request: its status, code and message.
#[derive(Debug, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiFailure {
    /// Whether `error` is the API's refusal with `status`.
    pub fn is(error: &anyhow::Error, status: u16) -> bool {
        error.downcast_ref::<ApiFailure>().is_some_and(|failure| failure.status == status)
    }
}

/// A blocking HTTP client of the API with the caller's token.
pub struct Client {
    agent: ureq::Agent,
    server: String,
    token: String,
}

impl Client {
    /// A client for `connection`; fails without a token.
    pub fn new(connection: &Connection) -> anyhow::Result<Self> {
        let token = connection.token.clone().context("no token: pass --token or set HEARTH_TOKEN")?;
        let agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        Ok(Client { agent, server: connection.server.trim_end_matches('/').to_owned(), token })
    }

    /// A client of the server at `server` with `token`.
    pub fn to(server: &str, token: &str) -> Self {
        let agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        Client { agent, server: server.trim_end_matches('/').to_owned(), token: token.to_owned() }
    }

    /// One request; an API error becomes an error with its code and message.
    pub fn call(&self, method: &str, path: &str, content_type: &str, body: Vec<u8>) -> anyhow::Result<Value> {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.server))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", content_type)
            .body(body)?;
        let mut response = self.agent.run(request).with_context(|| format!("{method} {path}"))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string()?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status >= 400 {
            let error = &value["error"];
            return Err(ApiFailure {
                status,
                code: error["code"].as_str().unwrap_or("error").to_owned(),
                message: error["message"].as_str().unwrap_or(&text).to_owned(),
            }
            .into());
        }
        Ok(value)
    }

    /// A JSON request (`Value::Null`: no body).
    pub fn json(&self, method: &str, path: &str, body: Value) -> anyhow::Result<Value> {
        let bytes = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        self.call(method, path, "application/json", bytes)
    }
}
