//! Test a Hearth plugin in a partner's `cargo test`, natively, against a real host:
//! the plugin's component is built for wasm32-wasip2, installed in an embedded host
//! with a temporary database, and driven with typed appliance events and service
//! calls; the test then asserts what the plugin did (notifications, offers, kv data,
//! device commands).
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

use hearth_host::HostConfig;
use hearth_host::bindings::Caller;
use hearth_host::households::{Device, Grant};
use hearth_package::Manifest;
use std::path::Path;
use std::time::{Duration, Instant};

pub use events::TestEvent;
/// What the harness's methods return, re-exported so a test can name them.
pub use hearth_host::commerce::orders::{LineItem, Order, OrderStatus};
pub use hearth_host::events::dead_letters::DeadLetter;
pub use hearth_host::events::log::StoredEvent;
pub use hearth_host::households::commands::QueuedCommand;
pub use hearth_host::households::notifications::{Action, Notification};
pub use hearth_host::{CallError, Host, HostError};

/// The household a test host starts with; the methods without a household argument
/// act for it.
pub const HOUSEHOLD: &str = "household-1";

/// How long [`TestHost::send`] waits for delivery before it gives up.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a test step failed.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The host refused (install, grant, storage).
    #[error(transparent)]
    Host(#[from] HostError),
    /// A plugin call failed.
    #[error(transparent)]
    Call(#[from] CallError),
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

/// An embedded host for one test, with the household [`HOUSEHOLD`] and any added with
/// [`TestHost::add_household`]. Every household consents to every installed plugin
/// for the kinds of device it has.
pub struct TestHost {
    host: Host,
    plugins: Vec<String>,
    /// Each household and the device kinds it has.
    households: Vec<(String, Vec<String>)>,
    _data: tempfile::TempDir,
}

impl TestHost {
    /// A host with a fresh database and quick retries (a failing event is
    /// dead-lettered within milliseconds, so tests do not wait on backoff).
    pub async fn new() -> Result<TestHost, TestError> {
        let data = tempfile::tempdir()?;
        let mut config = HostConfig::default();
        config.delivery.backoff_base = Duration::from_millis(1);
        config.delivery.backoff_max = Duration::from_millis(5);
        let host = Host::open(data.path(), config).await?;
        host.add_household(HOUSEHOLD)?;
        Ok(TestHost { host, plugins: Vec::new(), households: vec![(HOUSEHOLD.into(), Vec::new())], _data: data })
    }

    /// Adds another household (order ids, kv keys and notifications are per plugin, so
    /// a plugin serving two households is worth a test).
    pub async fn add_household(&mut self, household: &str) -> Result<(), TestError> {
        self.host.add_household(household)?;
        self.households.push((household.to_owned(), Vec::new()));
        Ok(())
    }

    /// Builds the plugin crate in `crate_dir` (release, wasm32-wasip2) and installs
    /// it with its `hearth.toml`. Returns the plugin id.
    pub async fn install_crate(&mut self, crate_dir: impl AsRef<Path>) -> Result<String, TestError> {
        let crate_dir = crate_dir.as_ref();
        let component =
            hearth_package::build::build_component(crate_dir).map_err(|error| TestError::Build(error.to_string()))?;
        self.install(&crate_dir.join("hearth.toml"), &component).await
    }

    /// Installs a built component with its manifest. Returns the plugin id.
    pub async fn install(&mut self, manifest: &Path, component: &Path) -> Result<String, TestError> {
        let text = std::fs::read_to_string(manifest)?;
        let manifest: Manifest = text.parse().map_err(HostError::from)?;
        let id = manifest.plugin.id.clone();
        self.host.install(manifest, std::fs::read(component)?).await?;
        self.plugins.push(id.clone());
        self.grant_everything().await?;
        Ok(id)
    }

    /// Adds an appliance to [`HOUSEHOLD`]; every installed plugin may see it and send
    /// it commands.
    pub async fn add_device(&mut self, id: &str, kind: &str) -> Result<(), TestError> {
        self.add_device_to(HOUSEHOLD, id, kind).await
    }

    /// Adds an appliance to `household` (added before with [`TestHost::add_household`]).
    pub async fn add_device_to(&mut self, household: &str, id: &str, kind: &str) -> Result<(), TestError> {
        self.host.add_device(Device {
            id: id.into(),
            household: household.into(),
            kind: kind.into(),
            model: "test-model".into(),
            region: "DE".into(),
        })?;
        if let Some((_, kinds)) = self.households.iter_mut().find(|(known, _)| known == household)
            && !kinds.iter().any(|known| known == kind)
        {
            kinds.push(kind.to_owned());
        }
        self.grant_everything().await
    }

    async fn grant_everything(&self) -> Result<(), TestError> {
        for (household, kinds) in &self.households {
            let grant =
                Grant { device_kinds: kinds.iter().cloned().collect(), devices: Default::default(), control: true };
            for plugin in &self.plugins {
                self.host.grant(household, plugin, &grant).await?;
            }
        }
        Ok(())
    }

    /// Sends events as `device` and waits until every plugin has handled them (or,
    /// after its retries, dead-lettered them).
    pub async fn send(&self, device: &str, events: impl Into<Vec<TestEvent>>) -> Result<(), TestError> {
        let events: Vec<serde_json::Value> = events.into().into_iter().map(TestEvent::into_json).collect();
        let body = serde_json::to_vec(&events).map_err(|error| TestError::Ingest(error.to_string()))?;
        self.host.ingest(device, &body).await.map_err(|error| TestError::Ingest(error.to_string()))?;
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        while self.host.lag()? > 0 {
            if Instant::now() > deadline {
                return Err(TestError::Timeout(format!("events not delivered within {DELIVERY_TIMEOUT:?}")));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(())
    }

    /// Calls `service.operation` as [`HOUSEHOLD`] would; returns the JSON answer.
    pub async fn call(
        &self,
        service: &str,
        operation: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, TestError> {
        self.call_as(HOUSEHOLD, service, operation, input).await
    }

    /// Calls `service.operation` as `household` would; returns the JSON answer.
    pub async fn call_as(
        &self,
        household: &str,
        service: &str,
        operation: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, TestError> {
        let response = self
            .host
            .call_service(
                service,
                operation,
                Caller::Household(household.into()),
                Some(household.into()),
                input.to_string().into_bytes(),
            )
            .await?;
        serde_json::from_slice(&response.output)
            .map_err(|_| TestError::NotJson(String::from_utf8_lossy(&response.output).into_owned()))
    }

    /// Notifications [`HOUSEHOLD`] received, oldest first.
    pub fn notifications(&self) -> Result<Vec<Notification>, TestError> {
        self.notifications_of(HOUSEHOLD)
    }

    /// Notifications `household` received, oldest first.
    pub fn notifications_of(&self, household: &str) -> Result<Vec<Notification>, TestError> {
        Ok(self.host.notifications(household)?)
    }

    /// Orders proposed to [`HOUSEHOLD`] and not yet answered.
    pub fn offers(&self) -> Result<Vec<Order>, TestError> {
        self.offers_to(HOUSEHOLD)
    }

    /// Orders proposed to `household` and not yet answered.
    pub fn offers_to(&self, household: &str) -> Result<Vec<Order>, TestError> {
        Ok(self.host.offers(household)?)
    }

    /// Takes the commands queued for `device`, as the appliance would fetch them.
    pub fn take_commands(&self, device: &str) -> Result<Vec<QueuedCommand>, TestError> {
        Ok(self.host.take_commands(device)?)
    }

    /// One value of the plugin's key-value data.
    pub fn kv(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, TestError> {
        Ok(self.host.kv_get(plugin, key)?)
    }

    /// One value the plugin stored for [`HOUSEHOLD`] (`kv::household_key` in the SDK).
    pub fn household_kv(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, TestError> {
        self.household_kv_of(plugin, HOUSEHOLD, key)
    }

    /// One value the plugin stored for `household` (`kv::household_key` in the SDK).
    pub fn household_kv_of(&self, plugin: &str, household: &str, key: &str) -> Result<Option<Vec<u8>>, TestError> {
        let reference = self.host.household_ref(plugin, household)?;
        Ok(self.host.kv_get(plugin, &format!("{reference}/{key}"))?)
    }

    /// The plugin's keys starting with `prefix`.
    pub async fn kv_keys(&self, plugin: &str, prefix: &str) -> Result<Vec<String>, TestError> {
        Ok(self.host.kv_keys(plugin, prefix)?)
    }

    /// Events the plugin failed on after every retry.
    pub fn dead_letters(&self, plugin: &str) -> Result<Vec<DeadLetter>, TestError> {
        Ok(self.host.dead_letters(plugin)?)
    }

    /// The embedded host, for anything this harness does not wrap.
    pub fn host(&self) -> &Host {
        &self.host
    }
}
