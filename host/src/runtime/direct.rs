//! A plugin instance on a store of its own, called straight through wasmtime's
//! component API: no worker task, no channel, no log, no deadline per call. The floor
//! Hearth's dispatch is measured against, and the way to time instantiation alone.

use crate::HostError;
use crate::bindings::{Event, Guest};
use crate::runtime::state::PluginState;
use crate::runtime::worker::PluginRuntime;
use std::time::{Duration, Instant};
use wasmtime::Store;

/// One instance, already instantiated and initialised.
pub struct DirectPlugin {
    store: Store<PluginState>,
    plugin: Guest,
    phases: StartPhases,
}

/// Where the time to start an instance went.
#[derive(Debug, Clone, Copy, Default)]
pub struct StartPhases {
    /// Hearth's part: the store with its WASI context, resource table and capabilities.
    pub store: Duration,
    /// wasmtime's part: allocating and instantiating the component's core instances.
    pub instantiate: Duration,
    /// The plugin's `init` export.
    pub init: Duration,
}

/// Epoch ticks a direct instance may run before it is interrupted: effectively
/// unlimited (the engine ticks every millisecond) — the floor has no deadline.
const NO_DEADLINE_TICKS: u64 = 1 << 40;

impl DirectPlugin {
    /// Instantiates the plugin (as the worker does, less the deadline) and runs `init`.
    pub async fn start(runtime: &PluginRuntime) -> Result<DirectPlugin, HostError> {
        let started = Instant::now();
        let mut store = Store::new(&runtime.engine, runtime.new_state());
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(NO_DEADLINE_TICKS);
        let stored = Instant::now();
        let plugin = runtime
            .pre
            .instantiate(&mut store)
            .await
            .map_err(|error| HostError::Engine(format!("instantiating: {error:#}")))?;
        let instantiated = Instant::now();
        plugin
            .init(&mut store)
            .await
            .map_err(|error| HostError::Engine(format!("init: {error:#}")))?
            .map_err(|error| HostError::Engine(format!("init returned {error}")))?;
        let phases =
            StartPhases { store: stored - started, instantiate: instantiated - stored, init: instantiated.elapsed() };
        Ok(DirectPlugin { store, plugin, phases })
    }

    /// How long starting this instance took, by phase.
    pub fn start_phases(&self) -> StartPhases {
        self.phases
    }

    /// Bytes of linear memory the instance holds now (every memory of every core module).
    pub fn memory_bytes(&self) -> usize {
        self.store.data().limiter.used_bytes()
    }

    /// Calls `on-event` and returns whether the plugin accepted it.
    pub async fn on_event(&mut self, event: &Event) -> Result<bool, HostError> {
        let returned = self
            .plugin
            .on_event(&mut self.store, event)
            .await
            .map_err(|error| HostError::Engine(format!("on-event: {error:#}")))?;
        Ok(returned.is_ok())
    }

    /// Calls `on-events` (a plugin built against 0.1 has none) and returns how many
    /// events the plugin accepted.
    pub async fn on_events(&mut self, events: &[Event]) -> Result<usize, HostError> {
        let returned = self
            .plugin
            .on_events(&mut self.store, events)
            .await
            .map_err(|error| HostError::Engine(format!("on-events: {error:#}")))?;
        Ok(returned.iter().filter(|result| result.is_ok()).count())
    }
}
