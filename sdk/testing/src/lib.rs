//! Test a Hearth plugin in a partner's `cargo test`, against a real host: the plugin's
//! component is built for wasm32-wasip2 and installed in a `hearth serve` started for
//! the test (a child process on a loopback port, with a temporary data directory),
//! driven through the HTTP API with typed appliance events and service calls; the test
//! then asserts what the plugin did (notifications, offers, kv data, device commands,
//! dead letters, log lines).
//!
//! The host is the `hearth` binary: `$HEARTH_BIN` (which `hearth plugin test` sets to
//! itself), else the one a workspace build put beside the test executable, else
//! `hearth` on the `PATH`. So a plugin's tests compile only this small client, not a
//! host.
//!
//! ```no_run
//! # async fn example() -> Result<(), hearth_testing::TestError> {
//! use hearth_testing::{TestHost, events};
//! let mut host = TestHost::new().await?;
//! let plugin = host.install_crate(env!("CARGO_MANIFEST_DIR")).await?;
//! host.add_device("fridge-1", "fridge").await?;
//! host.send("fridge-1", events::fridge_inventory("egg", "added", 6, "pieces")).await?;
//! let answer = host.call("recipes", "suggest", serde_json::json!({})).await?;
//! assert!(answer["ready"].is_array());
//! assert!(host.kv_keys(&plugin, "").await?.len() > 0);
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

pub mod events;
mod server;
mod types;

use serde_json::{Value, json};
use server::Server;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use events::TestEvent;
pub use types::{Action, DeadLetter, LineItem, LogLine, Notification, Order, OrderStatus, QueuedCommand};

/// The household a test host starts with; the methods without a household argument
/// act for it.
pub const HOUSEHOLD: &str = "household-1";

/// How long [`TestHost::send`] waits for delivery before it gives up.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a test step failed.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The host refused a request (an install, a grant, a call the plugin failed).
    #[error("{status} {code}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The API's error code (`invalid_component`, `plugin_error`, …).
        code: String,
        /// What went wrong.
        message: String,
    },
    /// The `hearth` binary could not be started or stopped answering.
    #[error("the test host: {0}")]
    Server(String),
    /// Ingest refused the events.
    #[error("the events were refused: {0}")]
    Ingest(String),
    /// The plugin crate did not build.
    #[error("building the plugin failed: {0}")]
    Build(String),
    /// Events were not delivered in time.
    #[error("{0}")]
    Timeout(String),
    /// Files could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// An answer was not JSON.
    #[error("the plugin answered something that is not JSON: {0}")]
    NotJson(String),
}

/// A household of the test host: its user token and the device kinds it has.
struct Household {
    id: String,
    token: String,
    kinds: Vec<String>,
}

/// A host for one test, with the household [`HOUSEHOLD`] and any added with
/// [`TestHost::add_household`]. Every household consents to every installed plugin
/// for the kinds of device it has. The host stops when this is dropped.
pub struct TestHost {
    server: Server,
    plugins: Vec<String>,
    households: Vec<Household>,
    /// Each device and its token.
    devices: Vec<(String, String)>,
}

impl TestHost {
    /// A host with a fresh database and quick retries (a failing event is
    /// dead-lettered within milliseconds, so tests do not wait on backoff).
    pub async fn new() -> Result<TestHost, TestError> {
        let server = Server::start()?;
        let mut host = TestHost { server, plugins: Vec::new(), households: Vec::new(), devices: Vec::new() };
        host.add_household(HOUSEHOLD).await?;
        Ok(host)
    }

    /// Adds another household (order ids, kv keys and notifications are per plugin, so
    /// a plugin serving two households is worth a test).
    pub async fn add_household(&mut self, household: &str) -> Result<(), TestError> {
        self.server.operator("POST", "/v1/households", json!({ "id": household }))?;
        let token = self.token("user", household)?;
        self.households.push(Household { id: household.to_owned(), token, kinds: Vec::new() });
        Ok(())
    }

    /// Builds the plugin crate in `crate_dir` (release, wasm32-wasip2, validated as an
    /// install would) with `hearth plugin build`, and installs it with its
    /// `hearth.toml`. Returns the plugin id.
    pub async fn install_crate(&mut self, crate_dir: impl AsRef<Path>) -> Result<String, TestError> {
        let crate_dir = crate_dir.as_ref();
        let component = self.server.build(crate_dir)?;
        self.install(&crate_dir.join("hearth.toml"), &component).await
    }

    /// Installs a built component with its manifest. Returns the plugin id.
    pub async fn install(&mut self, manifest: &Path, component: &Path) -> Result<String, TestError> {
        let manifest = std::fs::read_to_string(manifest)?;
        let component = std::fs::read(component)?;
        let installed = self.server.upload(&manifest, &component)?;
        let id = installed["id"].as_str().unwrap_or_default().to_owned();
        self.server.operator("PUT", &format!("/v1/plugins/{id}/log-level"), json!({ "level": "debug" }))?;
        self.plugins.push(id.clone());
        self.grant_everything()?;
        Ok(id)
    }

    /// Adds an appliance to [`HOUSEHOLD`]; every installed plugin may see it and send
    /// it commands.
    pub async fn add_device(&mut self, id: &str, kind: &str) -> Result<(), TestError> {
        self.add_device_to(HOUSEHOLD, id, kind).await
    }

    /// Adds an appliance to `household` (added before with [`TestHost::add_household`]).
    pub async fn add_device_to(&mut self, household: &str, id: &str, kind: &str) -> Result<(), TestError> {
        let device = json!({"id": id, "household": household, "kind": kind, "model": "test-model", "region": "DE"});
        self.server.operator("POST", "/v1/devices", device)?;
        let token = self.token("device", id)?;
        self.devices.push((id.to_owned(), token));
        if let Some(known) = self.households.iter_mut().find(|known| known.id == household)
            && !known.kinds.iter().any(|known| known == kind)
        {
            known.kinds.push(kind.to_owned());
        }
        self.grant_everything()
    }

    fn token(&self, role: &str, scope: &str) -> Result<String, TestError> {
        let created = self.server.operator("POST", "/v1/tokens", json!({ "role": role, "scope": scope }))?;
        Ok(created["token"].as_str().unwrap_or_default().to_owned())
    }

    fn grant_everything(&self) -> Result<(), TestError> {
        for household in &self.households {
            let grant = json!({ "device_kinds": household.kinds, "devices": [], "control": true });
            for plugin in &self.plugins {
                self.server.json("PUT", &format!("/v1/me/grants/{plugin}"), &household.token, grant.clone())?;
            }
        }
        Ok(())
    }

    fn household_token(&self, household: &str) -> Result<&str, TestError> {
        let known = self.households.iter().find(|known| known.id == household);
        known.map(|known| known.token.as_str()).ok_or_else(|| TestError::Api {
            status: 404,
            code: "not_found".into(),
            message: format!("no household {household}: add it with add_household"),
        })
    }

    fn device_token(&self, device: &str) -> Result<&str, TestError> {
        let known = self.devices.iter().find(|(known, _)| known == device);
        known.map(|(_, token)| token.as_str()).ok_or_else(|| TestError::Api {
            status: 404,
            code: "not_found".into(),
            message: format!("no device {device}: add it with add_device"),
        })
    }

    /// Sends events as `device` and waits until every plugin has handled them (or,
    /// after its retries, dead-lettered them).
    pub async fn send(&self, device: &str, events: impl Into<Vec<TestEvent>>) -> Result<(), TestError> {
        let events: Vec<Value> = events.into().into_iter().map(TestEvent::into_json).collect();
        let token = self.device_token(device)?;
        self.server.json("POST", "/v1/events", token, Value::Array(events)).map_err(|error| match error {
            TestError::Api { message, .. } => TestError::Ingest(message),
            other => other,
        })?;
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        for plugin in &self.plugins {
            loop {
                let status = self.server.operator("GET", &format!("/v1/plugins/{plugin}"), Value::Null)?;
                if status["status"]["lag"].as_u64().unwrap_or(0) == 0 {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(TestError::Timeout(format!(
                        "{plugin} did not handle the events within {DELIVERY_TIMEOUT:?}: {}",
                        status["status"]
                    )));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        Ok(())
    }

    /// Calls `service.operation` as [`HOUSEHOLD`] would; returns the JSON answer.
    pub async fn call(&self, service: &str, operation: &str, input: Value) -> Result<Value, TestError> {
        self.call_as(HOUSEHOLD, service, operation, input).await
    }

    /// Calls `service.operation` as `household` would; returns the JSON answer.
    pub async fn call_as(
        &self,
        household: &str,
        service: &str,
        operation: &str,
        input: Value,
    ) -> Result<Value, TestError> {
        let token = self.household_token(household)?;
        self.server.json("POST", &format!("/v1/services/{service}/{operation}"), token, input)
    }

    /// Notifications [`HOUSEHOLD`] received, oldest first.
    pub fn notifications(&self) -> Result<Vec<Notification>, TestError> {
        self.notifications_of(HOUSEHOLD)
    }

    /// Notifications `household` received, oldest first.
    pub fn notifications_of(&self, household: &str) -> Result<Vec<Notification>, TestError> {
        let answer = self.server.json("GET", "/v1/me/notifications", self.household_token(household)?, Value::Null)?;
        decode(&answer["notifications"])
    }

    /// Orders proposed to [`HOUSEHOLD`] and not yet answered.
    pub fn offers(&self) -> Result<Vec<Order>, TestError> {
        self.offers_to(HOUSEHOLD)
    }

    /// Orders proposed to `household` and not yet answered.
    pub fn offers_to(&self, household: &str) -> Result<Vec<Order>, TestError> {
        let answer = self.server.json("GET", "/v1/me/offers", self.household_token(household)?, Value::Null)?;
        decode(&answer["offers"])
    }

    /// Takes the commands queued for `device`, as the appliance would fetch them.
    pub fn take_commands(&self, device: &str) -> Result<Vec<QueuedCommand>, TestError> {
        let answer = self.server.json("GET", "/v1/commands", self.device_token(device)?, Value::Null)?;
        decode(&answer["commands"])
    }

    /// One value of the plugin's key-value data.
    pub fn kv(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, TestError> {
        self.server.kv_value(plugin, &format!("key={}", server::encode(key)))
    }

    /// One value the plugin stored for [`HOUSEHOLD`] (`kv::household_key` in the SDK).
    pub fn household_kv(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, TestError> {
        self.household_kv_of(plugin, HOUSEHOLD, key)
    }

    /// One value the plugin stored for `household` (`kv::household_key` in the SDK).
    pub fn household_kv_of(&self, plugin: &str, household: &str, key: &str) -> Result<Option<Vec<u8>>, TestError> {
        let query = format!("key={}&household={}", server::encode(key), server::encode(household));
        self.server.kv_value(plugin, &query)
    }

    /// The plugin's keys starting with `prefix`.
    pub async fn kv_keys(&self, plugin: &str, prefix: &str) -> Result<Vec<String>, TestError> {
        let path = format!("/v1/plugins/{plugin}/kv?prefix={}", server::encode(prefix));
        decode(&self.server.operator("GET", &path, Value::Null)?["keys"])
    }

    /// Events the plugin failed on after every retry.
    pub fn dead_letters(&self, plugin: &str) -> Result<Vec<DeadLetter>, TestError> {
        decode(
            &self.server.operator("GET", &format!("/v1/plugins/{plugin}/dead-letters"), Value::Null)?["dead_letters"],
        )
    }

    /// The plugin's log so far, oldest first: its own lines (debug and up) and the
    /// host's about it. Lines take up to 250 ms to appear.
    pub fn logs(&self, plugin: &str) -> Result<Vec<LogLine>, TestError> {
        decode(&self.server.operator("GET", &format!("/v1/plugins/{plugin}/logs?limit=1000"), Value::Null)?["lines"])
    }

    /// The host's API address (`http://127.0.0.1:PORT`), for anything this harness
    /// does not wrap.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The host's operator token.
    pub fn operator_token(&self) -> &str {
        self.server.operator_token()
    }

    /// Where the `hearth` binary running this host is.
    pub fn binary(&self) -> &PathBuf {
        self.server.binary()
    }
}

fn decode<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, TestError> {
    T::deserialize(value).map_err(|error| TestError::Server(format!("an answer the harness cannot read: {error}")))
}
