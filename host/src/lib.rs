//! # Hearth host
//!
//! The runtime that loads partner plugins (wasm32-wasip2 components built with
//! `hearth-sdk`) under hard limits and calls them: one wasmtime engine with an epoch
//! ticker ([`engine`]), compiled artifacts cached in sled ([`component`]), a worker
//! task per plugin that owns its store ([`worker`]), and the capabilities plugins
//! import ([`capabilities`]). [`Host`] ties them to one data directory.
//!
//! See `docs/DESIGN.md` for how this fits the event flow.

pub mod api;
pub mod bindings;
pub mod breaker;
pub mod capabilities;
pub mod clock;
pub mod component;
pub mod direct;
pub mod engine;
mod error;
pub mod events;
mod host;
pub mod households;
pub mod ledger;
pub mod limits;
pub mod metrics;
pub mod refs;
mod state;
pub mod trust;
pub mod validate;
pub mod worker;

pub use error::{CallError, HostError};
pub use host::{Erasure, Host, HostConfig, HostStats, LoadedPlugin, PluginStatus};
pub use limits::Limits;
