//! Host capabilities a plugin imports, one module each. A capability module owns its
//! per-store context, what it needs from the host (a field of [`Backends`]), whether a
//! manifest is granted it, and its linker registration ([`Capability`]). The list at
//! the bottom of this file is the only place that names them all: the store's
//! contexts and the linker are generated from it.

pub mod commerce;
pub mod config;
pub mod devices;
pub mod http;
pub mod kv;
pub mod log;
pub mod notify;
pub mod services;

use crate::commerce::orders::Orders;
use crate::households::Households;
use crate::households::commands::CommandQueue;
use crate::households::notifications::Notifications;
use crate::households::refs::Pseudonyms;
use crate::storage::Storage;
use hearth_package::Manifest;
use std::sync::Arc;
use wasmtime::component::Linker;
use wasmtime_wasi_http::WasiHttpView;

/// What capabilities reach, shared by every plugin of a host.
#[derive(Clone)]
pub struct Backends {
    /// Makes the writes of a call durable before it is acknowledged.
    pub storage: Arc<dyn Storage>,
    /// Plugins' key-value data.
    pub kv: kv::PluginKv,
    /// Key-value storage per plugin, in bytes.
    pub kv_quota_bytes: u64,
    /// Operator-set plugin config.
    pub config: config::PluginConfig,
    /// Pseudonymous refs.
    pub refs: Pseudonyms,
    /// Households, devices and consent.
    pub households: Households,
    /// Notifications to households.
    pub notifications: Arc<Notifications>,
    /// Orders proposed to households.
    pub orders: Orders,
    /// Commands waiting for devices.
    pub commands: CommandQueue,
    /// Where plugins' service calls go.
    pub router: Arc<dyn services::ServiceRouter>,
    /// Time and size limits of outbound HTTP.
    pub http_limits: http::HttpLimits,
}

/// What one plugin was granted, from its (operator-cut) manifest.
#[derive(Debug, Clone)]
pub struct PluginGrants {
    /// The plugin's publisher (orders are booked to it).
    pub publisher: Arc<str>,
    /// `kind:command` pairs it may send.
    pub device_commands: Vec<String>,
    /// `service.operation` names it may call.
    pub calls: Arc<[String]>,
    /// `host:port` destinations of its outbound HTTP.
    pub http: Arc<[String]>,
}

impl PluginGrants {
    /// The grants of a manifest.
    pub fn of(manifest: &Manifest) -> Self {
        PluginGrants {
            publisher: manifest.plugin.publisher.as_str().into(),
            device_commands: manifest.capabilities.devices.clone(),
            calls: manifest.services.calls.clone().into(),
            http: manifest.capabilities.http.iter().map(|target| target.to_ascii_lowercase()).collect(),
        }
    }
}

/// What a capability's per-store context is built from.
pub struct Setup<'a> {
    /// The plugin's id.
    pub plugin: &'a Arc<str>,
    /// The host's backends.
    pub backends: &'a Backends,
    /// What the plugin was granted.
    pub grants: &'a PluginGrants,
    /// The plugin's log budget.
    pub log: &'a Arc<log::LogBudget>,
}

/// A plugin store as capabilities see it: their contexts, and wasi-http's view.
pub trait PluginStore: WasiHttpView + Send + 'static {
    /// Every capability's context in this store.
    fn capabilities(&mut self) -> &mut Contexts;
}

/// One capability.
pub trait Capability: Sized + Send + 'static {
    /// Whether a plugin running under `manifest` may import it. A component that
    /// imports a capability it is not granted fails to link.
    fn granted(manifest: &Manifest) -> bool;
    /// Its context in a new store.
    fn new(setup: &Setup<'_>) -> Self;
    /// Registers its imports; `get` finds its context in a store.
    fn add_to_linker<T: PluginStore>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut Self) -> wasmtime::Result<()>;
}

macro_rules! capabilities {
    ($($field:ident: $context:ty),+ $(,)?) => {
        /// Every capability's context in one plugin store.
        pub struct Contexts {
            $(
                #[allow(missing_docs)]
                pub $field: $context,
            )+
        }

        impl Contexts {
            /// Fresh contexts for a new store.
            pub fn new(setup: &Setup<'_>) -> Self {
                Contexts { $($field: <$context as Capability>::new(setup),)+ }
            }
        }

        /// Adds every capability `manifest` is granted to `linker`.
        pub fn add_granted<T: PluginStore>(linker: &mut Linker<T>, manifest: &Manifest) -> wasmtime::Result<()> {
            $(
                if <$context as Capability>::granted(manifest) {
                    <$context as Capability>::add_to_linker(linker, |store: &mut T| &mut store.capabilities().$field)?;
                }
            )+
            Ok(())
        }
    };
}

capabilities! {
    log: log::LogCtx,
    config: config::ConfigCtx,
    devices: devices::DevicesCtx,
    kv: kv::KvCtx,
    notify: notify::NotifyCtx,
    commerce: commerce::CommerceCtx,
    services: services::ServicesCtx,
    http: http::HttpCtx,
}

/// A capability's backend (storage) failed in the middle of a call: the call traps with
/// this, and the worker reports [`crate::CallError::Storage`]: the failure is the
/// host's, so it is neither counted against the plugin nor dead-lettered; the event
/// is delivered again once the backend answers.
#[derive(Debug, thiserror::Error)]
#[error("{capability}: the host's storage failed: {error}")]
pub struct BackendFailed {
    capability: &'static str,
    error: String,
}

/// The trap a capability raises when its backend fails.
pub fn backend_failed(capability: &'static str, error: impl std::fmt::Display) -> wasmtime::Error {
    wasmtime::Error::new(BackendFailed { capability, error: error.to_string() })
}
