//! The instances serving one plugin: events of one device (or household) always go
//! to the same instance, so their order holds; service calls go to the instances in
//! turn.

use crate::CallError;
use crate::bindings::{Event, ServiceResponse};
use crate::capabilities::log::LogBudget;
use crate::runtime::breaker::Breaker;
use crate::runtime::counters::PluginCounters;
use crate::runtime::worker::{EventOutcome, EventRun, PluginHandle, ServiceCall};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The instances serving one plugin.
#[derive(Debug, Clone)]
pub struct PluginPool {
    handles: Arc<[PluginHandle]>,
    next: Arc<AtomicUsize>,
}

impl PluginPool {
    /// A pool over started instances.
    pub fn new(handles: Vec<PluginHandle>) -> Self {
        PluginPool { handles: handles.into(), next: Arc::new(AtomicUsize::new(0)) }
    }

    /// How many instances serve the plugin.
    pub fn size(&self) -> usize {
        self.handles.len()
    }

    /// The instance that serves `event`: one per device, or per household for events
    /// of no device, so each one's events stay in order.
    pub fn lane_of(&self, event_device: Option<&str>, household: &str) -> usize {
        let key = event_device.unwrap_or(household);
        if self.handles.len() <= 1 {
            return 0;
        }
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        (hasher.finish() % self.handles.len().max(1) as u64) as usize
    }

    /// Delivers one event to one instance and waits for it to be handled.
    pub async fn on_event(&self, lane: usize, event: Event) -> Result<(), CallError> {
        match self.handles.get(lane) {
            Some(handle) => handle.on_event(event).await,
            None => Err(CallError::Stopped),
        }
    }

    /// Delivers a run of events to one instance; see [`PluginHandle::on_events`].
    pub async fn on_events(&self, lane: usize, run: EventRun) -> Vec<EventOutcome> {
        match self.handles.get(lane) {
            Some(handle) => handle.on_events(run).await,
            None => Vec::new(),
        }
    }

    /// Returns once every instance has finished the event runs sent to it before.
    pub async fn barrier(&self) {
        for lane in 0..self.handles.len() {
            self.on_events(lane, EventRun { events: Vec::new(), proceed: Box::new(|| true), fence: None }).await;
        }
    }

    /// Service calls go to the instances in turn.
    pub async fn handle(&self, call: ServiceCall) -> Result<ServiceResponse, CallError> {
        let lane = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len().max(1);
        match self.handles.get(lane) {
            Some(handle) => handle.handle(call).await,
            None => Err(CallError::Stopped),
        }
    }
}

/// One plugin, as its consumers and callers see it.
#[derive(Clone)]
pub struct PluginLink {
    /// The plugin's id.
    pub id: Arc<str>,
    /// Its instances.
    pub pool: PluginPool,
    /// Its quarantine and per-caller suspensions.
    pub breaker: Arc<Breaker>,
    /// What happened to its events and calls.
    pub counters: Arc<PluginCounters>,
    /// The plugin's log budget, which host lines it causes count against.
    pub log: Arc<LogBudget>,
}

impl PluginLink {
    /// A service call by `caller` into this plugin; failures other than the plugin's
    /// own errors count towards its breaker, per caller (see [`Breaker`]).
    pub async fn call(&self, call: ServiceCall, caller: &str) -> Result<ServiceResponse, CallError> {
        if let Err(retry_after) = self.breaker.admit(caller) {
            return Err(CallError::Suspended { plugin: self.id.to_string(), retry_after });
        }
        let started = std::time::Instant::now();
        let result = self.pool.handle(call).await;
        self.counters.service_latency.record(started.elapsed());
        match &result {
            Ok(_) | Err(CallError::Plugin(_)) => self.breaker.record_call_success(caller),
            // The host's storage failed, not the plugin: nothing to hold against it.
            Err(CallError::Storage(_)) => {}
            Err(error) => {
                self.counters.calls_failed.fetch_add(1, Ordering::Relaxed);
                self.breaker.record_call_failure(caller, &error.to_string());
            }
        }
        result
    }
}
