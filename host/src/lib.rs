//! # Hearth host
//!
//! The runtime that loads partner plugins (wasm32-wasip2 components built with
//! `hearth-sdk`) under hard limits, delivers appliance events to them and routes
//! service calls between them. [`Host`] is the facade over one data directory;
//! `docs/DESIGN.md` describes the parts and how data flows through them.
//!
//! ```no_run
//! use hearth_host::{Host, HostConfig};
//! use hearth_host::households::{Device, Grant};
//!
//! # async fn run(manifest: hearth_package::Manifest, component: Vec<u8>) -> Result<(), hearth_host::HostError> {
//! let host = Host::open(std::path::Path::new("hearth-data"), HostConfig::default()).await?;
//! let plugin = host.install(manifest, component).await?.manifest.plugin.id;
//! host.add_household("household-1")?;
//! host.add_device(Device {
//!     id: "fridge-1".into(),
//!     household: "household-1".into(),
//!     kind: "fridge".into(),
//!     model: "FR-1".into(),
//!     region: "DE".into(),
//! })?;
//! let fridges = Grant { device_kinds: ["fridge".into()].into(), ..Grant::default() };
//! host.grant("household-1", &plugin, &fridges).await?;
//! let event = br#"{"id":"e1","topic":"appliance.fridge.door","time_ms":1800000000000,"body":{"state":"open"}}"#;
//! host.ingest("fridge-1", event).await.map_err(|error| hearth_host::HostError::InvalidInput(error.to_string()))?;
//! host.shutdown().await
//! # }
//! ```
//!
//! Layers, each depending only on those before it: [`storage`] (the seam every store
//! is written against) ← domain stores ([`households`], [`commerce`],
//! [`events::dead_letters`]) ← [`capabilities`] ← [`runtime`] ← [`events`] (ingest,
//! log, consumers) ← [`plugins`] ← [`services`] ← [`Host`].

#![deny(missing_docs)]

mod backend;
pub mod bindings;
pub mod capabilities;
pub mod clock;
pub mod cluster;
pub mod commerce;
pub mod config;
mod erasure;
mod error;
pub mod events;
pub mod exposition;
mod host;
pub mod households;
mod inspect;
pub mod metrics;
pub mod plugins;
pub mod rate;
pub mod runtime;
pub mod services;
pub mod storage;
pub mod sync;
#[cfg(feature = "test-hooks")]
mod test_hooks;
mod upkeep;
pub mod validate;

pub use backend::Backend;
pub use config::HostConfig;
pub use erasure::Erasure;
pub use error::{CallError, HostError};
pub use host::{Host, HostStats};
pub use plugins::status::{LoadedPlugin, PluginStatus};
pub use runtime::limits::Limits;
