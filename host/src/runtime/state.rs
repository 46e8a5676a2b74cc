//! What a plugin's `Store` holds, and the linker that gives a plugin exactly the
//! capabilities it was granted (the list lives in [`crate::capabilities`]).

use crate::capabilities::log::{GuestOutput, LogBudget};
use crate::capabilities::{self, Backends, Contexts, PluginGrants, PluginStore, Setup};
use crate::runtime::limits::{HostMemory, MemoryLimiter};
use std::sync::Arc;
use std::time::Instant;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtxView, WasiHttpView};

/// The data of one plugin instance's store.
pub struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    /// Every capability's context.
    pub(crate) capabilities: Contexts,
    /// When the running call must be stopped.
    pub(crate) deadline: Instant,
}

impl PluginState {
    /// A fresh store's data for `plugin`.
    pub fn new(
        plugin: &Arc<str>,
        memory_bytes: usize,
        memory: &Arc<HostMemory>,
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
            limiter: MemoryLimiter::new(memory_bytes, memory.clone()),
            capabilities: Contexts::new(&Setup { plugin, backends, grants, log }),
            deadline: Instant::now(),
        }
    }
}

impl PluginStore for PluginState {
    fn capabilities(&mut self) -> &mut Contexts {
        &mut self.capabilities
    }
}

impl WasiHttpView for PluginState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        let http = &mut self.capabilities.http;
        WasiHttpCtxView { ctx: &mut http.ctx, table: &mut self.table, hooks: &mut http.policy }
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// A linker with WASI and every capability (what a plugin's manifest does not request
/// refuses its calls).
pub fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<PluginState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    capabilities::add_all(&mut linker)?;
    Ok(linker)
}
