//! What a plugin's `Store` holds, and the linker that gives a plugin exactly the
//! capabilities it was granted.

use crate::bindings::hearth::plugin;
use crate::capabilities::config::{ConfigCtx, ConfigStore};
use crate::capabilities::kv::{KvCtx, KvStore};
use crate::capabilities::log::{GuestOutput, LogCtx};
use crate::limits::MemoryLimiter;
use hearth_registry::Capabilities;
use std::sync::Arc;
use std::time::Instant;
use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// The data of one plugin instance's store.
pub struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    log: LogCtx,
    pub(crate) kv: KvCtx,
    config: ConfigCtx,
    /// When the running call must be stopped.
    pub(crate) deadline: Instant,
}

/// The backends capabilities reach, shared by every plugin of a host.
#[derive(Clone)]
pub struct Backends {
    pub kv: Arc<dyn KvStore>,
    pub config: Arc<dyn ConfigStore>,
}

impl PluginState {
    pub fn new(plugin: &Arc<str>, memory_bytes: usize, backends: &Backends) -> Self {
        // No preopened directories, no environment, no arguments, no network: the
        // WASI a Rust program needs to start, and clocks and randomness.
        let wasi = WasiCtxBuilder::new()
            .stdout(GuestOutput::stdout(plugin.clone()))
            .stderr(GuestOutput::stderr(plugin.clone()))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        PluginState {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(memory_bytes),
            log: LogCtx::new(plugin.clone()),
            kv: KvCtx::new(plugin.clone(), backends.kv.clone()),
            config: ConfigCtx::new(plugin.clone(), backends.config.clone()),
            deadline: Instant::now(),
        }
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

struct Log;
impl HasData for Log {
    type Data<'a> = &'a mut LogCtx;
}
struct Kv;
impl HasData for Kv {
    type Data<'a> = &'a mut KvCtx;
}
struct Config;
impl HasData for Config {
    type Data<'a> = &'a mut ConfigCtx;
}

/// A linker with WASI, the baseline capabilities (log, config) and the granted ones.
/// A plugin that imports a capability it was not granted fails to link at install.
pub fn linker(engine: &wasmtime::Engine, grants: &Capabilities) -> wasmtime::Result<Linker<PluginState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    plugin::log::add_to_linker::<PluginState, Log>(&mut linker, |state| &mut state.log)?;
    plugin::config::add_to_linker::<PluginState, Config>(&mut linker, |state| &mut state.config)?;
    if grants.kv {
        plugin::kv::add_to_linker::<PluginState, Kv>(&mut linker, |state| &mut state.kv)?;
    }
    Ok(linker)
}
