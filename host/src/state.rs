//! What a plugin's `Store` holds, and the linker that gives a plugin exactly the
//! capabilities it was granted.

use crate::bindings::hearth::plugin;
use crate::capabilities::commerce::{CommerceCtx, Orders};
use crate::capabilities::config::{ConfigCtx, ConfigStore};
use crate::capabilities::devices::{CommandQueue, DevicesCtx};
use crate::capabilities::http::{HttpLimits, HttpPolicy};
use crate::capabilities::kv::{KvCtx, KvStore};
use crate::capabilities::log::{GuestOutput, LogBudget, LogCtx};
use crate::capabilities::notify::{Notifications, NotifyCtx};
use crate::capabilities::services::{ServiceRouter, ServicesCtx};
use crate::households::Households;
use crate::limits::MemoryLimiter;
use crate::refs::Pseudonyms;
use hearth_registry::Manifest;
use std::sync::Arc;
use std::time::Instant;
use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The data of one plugin instance's store.
pub struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    log: LogCtx,
    pub(crate) kv: KvCtx,
    config: ConfigCtx,
    notify: NotifyCtx,
    commerce: CommerceCtx,
    devices: DevicesCtx,
    pub(crate) services: ServicesCtx,
    http: WasiHttpCtx,
    http_policy: HttpPolicy,
    /// When the running call must be stopped.
    pub(crate) deadline: Instant,
}

/// The backends capabilities reach, shared by every plugin of a host.
#[derive(Clone)]
pub struct Backends {
    pub kv: Arc<dyn KvStore>,
    pub kv_quota_bytes: u64,
    pub config: Arc<dyn ConfigStore>,
    pub refs: Pseudonyms,
    pub households: Households,
    pub notifications: Arc<Notifications>,
    pub orders: Orders,
    pub commands: CommandQueue,
    pub router: Arc<dyn ServiceRouter>,
    pub http_limits: HttpLimits,
    /// Linear memory of every plugin instance, against the host's ceiling.
    pub memory: Arc<crate::limits::HostMemory>,
}

/// What one plugin was granted, from its manifest.
#[derive(Debug, Clone)]
pub struct PluginGrants {
    pub publisher: Arc<str>,
    pub device_commands: Vec<String>,
    pub calls: Arc<[String]>,
    pub http: Arc<[String]>,
}

impl PluginGrants {
    pub fn of(manifest: &Manifest) -> Self {
        PluginGrants {
            publisher: manifest.plugin.publisher.as_str().into(),
            device_commands: manifest.capabilities.devices.clone(),
            calls: manifest.services.calls.clone().into(),
            http: manifest.capabilities.http.iter().map(|target| target.to_ascii_lowercase()).collect(),
        }
    }
}

impl PluginState {
    pub fn new(
        plugin: &Arc<str>,
        memory_bytes: usize,
        backends: &Backends,
        grants: &PluginGrants,
        log: &Arc<LogBudget>,
    ) -> Self {
        // No preopened directories, no environment, no arguments, no network: the
        // WASI a Rust program needs to start, and clocks and randomness.
        let wasi = WasiCtxBuilder::new()
            .stdout(GuestOutput::stdout(log.clone()))
            .stderr(GuestOutput::stderr(log.clone()))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        PluginState {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(memory_bytes, backends.memory.clone()),
            log: LogCtx::new(log.clone()),
            kv: KvCtx::new(plugin.clone(), backends.kv.clone(), backends.kv_quota_bytes),
            config: ConfigCtx::new(plugin.clone(), backends.config.clone()),
            notify: NotifyCtx {
                plugin: plugin.clone(),
                notifications: backends.notifications.clone(),
                refs: backends.refs.clone(),
                households: backends.households.clone(),
            },
            commerce: CommerceCtx {
                plugin: plugin.clone(),
                publisher: grants.publisher.clone(),
                orders: backends.orders.clone(),
                refs: backends.refs.clone(),
                households: backends.households.clone(),
            },
            devices: DevicesCtx {
                plugin: plugin.clone(),
                granted: grants.device_commands.clone(),
                refs: backends.refs.clone(),
                households: backends.households.clone(),
                queue: backends.commands.clone(),
            },
            services: ServicesCtx {
                plugin: plugin.clone(),
                allowed: grants.calls.clone(),
                router: backends.router.clone(),
                chain: vec![plugin.clone()],
                deadline: Instant::now(),
            },
            http: WasiHttpCtx::new(),
            http_policy: HttpPolicy {
                plugin: plugin.clone(),
                log: log.clone(),
                allowed: grants.http.clone(),
                limits: backends.http_limits,
            },
            deadline: Instant::now(),
        }
    }
}

impl WasiHttpView for PluginState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.http_policy }
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Declares the `HasData` marker that projects a store's state onto one capability.
macro_rules! capability_data {
    ($($marker:ident => $ctx:ty),+ $(,)?) => {
        $(
            struct $marker;
            impl HasData for $marker {
                type Data<'a> = &'a mut $ctx;
            }
        )+
    };
}

capability_data!(
    Log => LogCtx,
    Kv => KvCtx,
    Config => ConfigCtx,
    Notify => NotifyCtx,
    Commerce => CommerceCtx,
    Devices => DevicesCtx,
    Services => ServicesCtx,
);

/// A linker with WASI, the baseline capabilities (log, config, devices' describe) and
/// the granted ones. A plugin that imports a capability it was not granted fails to
/// link at install. (`devices` is always linked: `describe` only tells kind, model and
/// region of devices the plugin already gets events from, and `send` checks the
/// granted command kinds on every call.)
pub fn linker(engine: &wasmtime::Engine, manifest: &Manifest) -> wasmtime::Result<Linker<PluginState>> {
    let grants = &manifest.capabilities;
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    plugin::log::add_to_linker::<PluginState, Log>(&mut linker, |state| &mut state.log)?;
    plugin::config::add_to_linker::<PluginState, Config>(&mut linker, |state| &mut state.config)?;
    plugin::devices::add_to_linker::<PluginState, Devices>(&mut linker, |state| &mut state.devices)?;
    if grants.kv {
        plugin::kv::add_to_linker::<PluginState, Kv>(&mut linker, |state| &mut state.kv)?;
    }
    if grants.notify {
        plugin::notify::add_to_linker::<PluginState, Notify>(&mut linker, |state| &mut state.notify)?;
    }
    if grants.commerce {
        plugin::commerce::add_to_linker::<PluginState, Commerce>(&mut linker, |state| &mut state.commerce)?;
    }
    if !grants.http.is_empty() {
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    }
    if !manifest.services.calls.is_empty() {
        plugin::services::add_to_linker::<PluginState, Services>(&mut linker, |state| &mut state.services)?;
    }
    Ok(linker)
}
