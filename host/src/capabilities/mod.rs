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
    /// Whether the manifest requests kv, notify, commerce.
    pub kv: bool,
    #[allow(missing_docs)]
    pub notify: bool,
    #[allow(missing_docs)]
    pub commerce: bool,
}

impl PluginGrants {
    /// The grants of a manifest.
    pub fn of(manifest: &Manifest) -> Self {
        PluginGrants {
            publisher: manifest.plugin.publisher.as_str().into(),
            device_commands: manifest.capabilities.devices.clone(),
            calls: manifest.services.calls.clone().into(),
            http: manifest.capabilities.http.iter().map(|target| target.to_ascii_lowercase()).collect(),
            kv: manifest.capabilities.kv,
            notify: manifest.capabilities.notify,
            commerce: manifest.capabilities.commerce,
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

/// The hearth.toml line that requests each capability: named by its refusals, and by
/// the notices for a component that imports one its manifest does not request.
pub mod manifest_line {
    /// Requests `hearth:plugin/kv`.
    pub const KV: &str = "[capabilities] kv = true";
    /// Requests `hearth:plugin/notify`.
    pub const NOTIFY: &str = "[capabilities] notify = true";
    /// Requests `hearth:plugin/commerce`.
    pub const COMMERCE: &str = "[capabilities] commerce = true";
    /// Allows `hearth:plugin/services` calls (one entry per service operation).
    pub const SERVICES: &str = "[services] calls = [\"SERVICE.OPERATION\"]";
}

/// How a capability the manifest does not request answers. Every capability is
/// linked for every plugin — toolchains (jco, componentize-py) import every interface
/// of the world whatever the code uses — and a call of one that is not requested is
/// refused with a typed `not-granted` error naming the manifest line that would grant
/// it; the refusal is counted and reported in the plugin's log, within its budget.
/// Only the manifest (as cut by the operator) grants a capability.
#[derive(Clone)]
pub struct Ungranted {
    line: &'static str,
    log: Arc<log::LogBudget>,
}

impl Ungranted {
    /// `None` when `granted`; else the refusal naming `line`.
    pub fn unless(granted: bool, line: &'static str, setup: &Setup<'_>) -> Option<Self> {
        (!granted).then(|| Ungranted { line, log: setup.log.clone() })
    }

    /// Refuses a call of `function` (e.g. `kv.set`): the message for the plugin.
    pub fn refuse(&self, function: &str) -> String {
        let message = format!("hearth.toml does not request this capability: add `{}`", self.line);
        self.log.refuse_not_granted(function, message)
    }
}

/// One capability.
pub trait Capability: Sized + Send + 'static {
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

        /// Adds every capability to `linker` (what a plugin was not granted refuses
        /// its calls: see [`Ungranted`]).
        pub fn add_all<T: PluginStore>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
            $(
                <$context as Capability>::add_to_linker(linker, |store: &mut T| &mut store.capabilities().$field)?;
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
