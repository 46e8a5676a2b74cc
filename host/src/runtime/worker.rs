//! One task per plugin owns its `Store` and instance and serves calls in order.
//!
//! Calls arrive on two lanes: service calls (someone is waiting) are always taken
//! before queued events, also between the events of a run. Events come in runs: a
//! consumer sends the events one instance should handle next in one message and gets
//! one reply, so the hop between tasks is paid per run, not per event. A plugin that
//! takes batches (WIT 0.2 `on-events`) gets the whole run in one call; if that call
//! fails as a whole (a trap, a timeout), the run is delivered again one event per call,
//! so the failure is pinned on the event that causes it. The writes of a run are made
//! durable once, before its reply. Each call runs under a wall-clock deadline enforced
//! by the engine's epoch ticker; a trap, timeout or memory exhaustion ends that call,
//! the instance is discarded, and the next call starts on a fresh one.

use crate::CallError;
use crate::bindings::{Event, Guest, GuestPre, PluginError, ServiceRequest, ServiceResponse};
use crate::capabilities::{Backends, PluginGrants};
use crate::runtime::limits::HostMemory;
use crate::runtime::limits::Limits;
use crate::runtime::state::PluginState;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument as _;
use wasmtime::{Store, Trap, UpdateDeadline};

/// Calls that may wait in each lane before senders wait for room.
const LANE_CAPACITY: usize = 64;

type Reply<T> = oneshot::Sender<Result<T, CallError>>;

/// Events for one instance, handled in order.
pub struct EventRun {
    /// The events, in order.
    pub events: Vec<Event>,
    /// Asked before each event after the first: false ends the run there (the sender's
    /// view changed, e.g. a consent revocation, and it must look at the rest again).
    pub proceed: Box<dyn Fn() -> bool + Send>,
    /// Turns true when the sender lost the right to deliver these events (its lease
    /// went to another host, which delivers them again): from then on the run's kv
    /// writes are refused, so two hosts never interleave one plugin's writes for the
    /// same events. `None`: never.
    pub fence: Option<watch::Receiver<bool>>,
}

impl std::fmt::Debug for EventRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventRun").field("events", &self.events.len()).finish_non_exhaustive()
    }
}

/// How one event of a run went, and how long its call took.
pub type EventOutcome = (Result<(), CallError>, Duration);

/// The way to call a running plugin. Cloning it is cheap; the worker stops when the
/// last handle is dropped.
#[derive(Debug, Clone)]
pub struct PluginHandle {
    events: mpsc::Sender<(EventRun, oneshot::Sender<Vec<EventOutcome>>)>,
    services: mpsc::Sender<(ServiceCall, Reply<ServiceResponse>)>,
}

/// A service call with where it came from.
#[derive(Debug)]
pub struct ServiceCall {
    /// What is called.
    pub request: ServiceRequest,
    /// Plugins the call already passed through (empty for calls from outside).
    pub chain: Vec<Arc<str>>,
    /// The caller's deadline, when there is one: the call cannot outlive it.
    pub deadline: Option<Instant>,
}

impl PluginHandle {
    /// Delivers one event; returns when the plugin has handled it (and its writes are durable).
    pub async fn on_event(&self, event: Event) -> Result<(), CallError> {
        let run = EventRun { events: vec![event], proceed: Box::new(|| true), fence: None };
        self.on_events(run).await.pop().map_or(Err(CallError::Stopped), |(result, _)| result)
    }

    /// Delivers a run of events in order. The outcomes are those of the events the
    /// worker called, in order: it stops after the first failure or when
    /// `run.proceed` says so; an empty answer means the worker has stopped.
    pub async fn on_events(&self, run: EventRun) -> Vec<EventOutcome> {
        let (reply, answer) = oneshot::channel();
        if self.events.send((run, reply)).await.is_err() {
            return Vec::new();
        }
        answer.await.unwrap_or_default()
    }

    /// Calls a service operation the plugin provides.
    pub async fn handle(&self, call: ServiceCall) -> Result<ServiceResponse, CallError> {
        let (reply, answer) = oneshot::channel();
        self.services.send((call, reply)).await.map_err(|_| CallError::Stopped)?;
        answer.await.unwrap_or(Err(CallError::Stopped))
    }
}

/// Everything needed to make fresh instances of one plugin.
#[derive(Clone)]
pub struct PluginRuntime {
    /// The plugin's id.
    pub id: Arc<str>,
    /// The engine.
    pub engine: wasmtime::Engine,
    /// The linked component, ready to instantiate.
    pub pre: GuestPre<PluginState>,
    /// The limits it runs under.
    pub limits: Limits,
    /// What its capabilities reach.
    pub backends: Backends,
    /// Linear memory of every plugin instance, against the host's ceiling.
    pub memory: Arc<HostMemory>,
    /// What it was granted.
    pub grants: PluginGrants,
    /// The plugin's log rate budget, shared by its instances.
    pub log: Arc<crate::capabilities::log::LogBudget>,
}

impl PluginRuntime {
    /// The data of a fresh store for one of the plugin's instances.
    pub fn new_state(&self) -> PluginState {
        PluginState::new(&self.id, self.limits.memory_bytes, &self.memory, &self.backends, &self.grants, &self.log)
    }
}

/// Starts the plugin's worker task. The task ends once every handle is dropped and
/// the calls already queued are answered.
pub fn spawn(runtime: PluginRuntime) -> (PluginHandle, tokio::task::JoinHandle<()>) {
    let (events, event_lane) = mpsc::channel(LANE_CAPACITY);
    let (services, service_lane) = mpsc::channel(LANE_CAPACITY);
    let worker = Worker { runtime, live: None, unflushed: false, fence: None };
    let task = tokio::spawn(worker.run(event_lane, service_lane));
    (PluginHandle { events, services }, task)
}

struct Live {
    store: Store<PluginState>,
    plugin: Guest,
}

struct Worker {
    runtime: PluginRuntime,
    live: Option<Live>,
    /// Calls since the last flush wrote to kv (also calls whose instance was dropped).
    unflushed: bool,
    /// The fence of the run being delivered (see [`EventRun::fence`]).
    fence: Option<watch::Receiver<bool>>,
}

type ServiceLane = mpsc::Receiver<(ServiceCall, Reply<ServiceResponse>)>;

impl Worker {
    async fn run(
        mut self,
        mut event_lane: mpsc::Receiver<(EventRun, oneshot::Sender<Vec<EventOutcome>>)>,
        mut service_lane: ServiceLane,
    ) {
        loop {
            tokio::select! {
                biased;
                Some((call, reply)) = service_lane.recv() => self.serve(call, reply).await,
                Some((run, reply)) = event_lane.recv() => {
                    let outcomes = self.deliver(run, &mut service_lane).await;
                    let _ = reply.send(outcomes);
                }
                else => break,
            }
        }
        tracing::debug!(plugin = %self.runtime.id, "worker stopped");
    }

    /// Delivers a run: as one batch when the plugin takes batches, else (or when the
    /// batch failed as a whole) one event per call, stopping at the first failure.
    /// Nothing is acknowledged before the run's writes are durable.
    async fn deliver(&mut self, mut run: EventRun, service_lane: &mut ServiceLane) -> Vec<EventOutcome> {
        let mut outcomes = Vec::with_capacity(run.events.len());
        // Checked before the first event too: a run prepared before a revocation or
        // erasure must not deliver anything after it.
        if !(run.proceed)() {
            return outcomes;
        }
        self.fence = run.fence.take();
        let mut one_by_one = true;
        if run.events.len() > 1 && self.runtime.pre.takes_batches() {
            while let Ok((call, reply)) = service_lane.try_recv() {
                self.serve(call, reply).await;
            }
            let span = tracing::debug_span!("plugin_call", plugin = %self.runtime.id, kind = "events",
                events = run.events.len());
            let started = Instant::now();
            let result = self.on_events(&run.events).instrument(span.clone()).await;
            let elapsed = started.elapsed();
            span.in_scope(|| record_outcome(&result, elapsed));
            match result {
                // An empty answer would hand the whole run back forever: treat it as a
                // failed batch and find out event by event.
                Ok(results) if !results.is_empty() => {
                    one_by_one = false;
                    let each = elapsed / u32::try_from(run.events.len()).unwrap_or(u32::MAX);
                    outcomes.extend(results.into_iter().map(|result| (result, each)));
                }
                Err(error @ (CallError::Stopped | CallError::Storage(_))) => {
                    one_by_one = false;
                    outcomes.push((Err(error), elapsed));
                }
                // Which event made it fail is found by delivering them one by one.
                Ok(_) | Err(_) => {}
            }
        }
        if one_by_one {
            for (index, event) in run.events.iter().enumerate() {
                if index > 0 && !(run.proceed)() {
                    break;
                }
                while let Ok((call, reply)) = service_lane.try_recv() {
                    self.serve(call, reply).await;
                }
                let span = tracing::debug_span!("plugin_call", plugin = %self.runtime.id, kind = "event",
                    topic = %event.topic, event = %event.id);
                let started = Instant::now();
                let result = self.on_event(event).instrument(span.clone()).await;
                let elapsed = started.elapsed();
                span.in_scope(|| record_outcome(&result, elapsed));
                let failed = result.is_err();
                outcomes.push((result, elapsed));
                if failed {
                    break;
                }
            }
        }
        self.fence = None;
        if let Err(error) = self.make_durable().await {
            for (result, _) in &mut outcomes {
                if result.is_ok() {
                    *result = Err(error.clone());
                }
            }
        }
        outcomes
    }

    async fn serve(&mut self, call: ServiceCall, reply: Reply<ServiceResponse>) {
        let span = tracing::debug_span!("plugin_call", plugin = %self.runtime.id, kind = "service",
            operation = %format_args!("{}.{}", call.request.service, call.request.operation));
        let started = Instant::now();
        let mut result = self.handle(call).instrument(span.clone()).await;
        if result.is_ok()
            && let Err(error) = self.make_durable().await
        {
            result = Err(error);
        }
        span.in_scope(|| record_outcome(&result, started.elapsed()));
        let _ = reply.send(result);
    }

    async fn on_event(&mut self, event: &Event) -> Result<(), CallError> {
        let timeout = self.runtime.limits.event_timeout;
        let chain = vec![self.runtime.id.clone()];
        let fence = self.fence.clone();
        let live = self.instance().await?;
        live.store.data_mut().capabilities.kv.fence = fence;
        let (deadline, budget) = live.begin_call(timeout, None, chain);
        let call = live.plugin.on_event(&mut live.store, event);
        let outcome = tokio::time::timeout_at(deadline.into(), call).await;
        self.settle(outcome, budget)
    }

    /// One call with every event of a run, under the event deadline once per event.
    /// `Ok` holds the results up to and including the first failure: the events after
    /// it are delivered again, after it, so a device's order holds.
    async fn on_events(&mut self, events: &[Event]) -> Result<Vec<Result<(), CallError>>, CallError> {
        let count = u32::try_from(events.len()).unwrap_or(u32::MAX);
        let timeout = self.runtime.limits.event_timeout.saturating_mul(count);
        let chain = vec![self.runtime.id.clone()];
        let fence = self.fence.clone();
        let live = self.instance().await?;
        live.store.data_mut().capabilities.kv.fence = fence;
        let (deadline, budget) = live.begin_call(timeout, None, chain);
        let call = live.plugin.on_events(&mut live.store, events);
        let outcome = tokio::time::timeout_at(deadline.into(), call).await;
        let backend_failed = live.store.data().capabilities.kv.backend_failed;
        let results = self.settle(outcome.map(|returned| returned.map(Ok)), budget)?;
        let mut handled = Vec::with_capacity(events.len());
        for result in results.into_iter().take(events.len()) {
            let failed = result.is_err();
            handled.push(result.map_err(|error| match backend_failed {
                true => storage_failed_during_call(),
                false => CallError::Plugin(cap_message(error)),
            }));
            if failed {
                break;
            }
        }
        Ok(handled)
    }

    async fn handle(&mut self, call: ServiceCall) -> Result<ServiceResponse, CallError> {
        let timeout = self.runtime.limits.service_timeout;
        let mut chain = call.chain;
        chain.push(self.runtime.id.clone());
        let live = self.instance().await?;
        live.store.data_mut().capabilities.kv.fence = None;
        let (deadline, budget) = live.begin_call(timeout, call.deadline, chain);
        let request = &call.request;
        let call = live.plugin.handle(&mut live.store, request);
        let outcome = tokio::time::timeout_at(deadline.into(), call).await;
        let response = self.settle(outcome, budget)?;
        if response.output.len() > MAX_OUTPUT_BYTES {
            return Err(CallError::OutputTooLarge { bytes: response.output.len(), limit: MAX_OUTPUT_BYTES });
        }
        Ok(response)
    }

    /// The live instance, instantiating and initialising a fresh one if needed.
    async fn instance(&mut self) -> Result<&mut Live, CallError> {
        if self.live.is_none() {
            let live = self.start().await?;
            self.live = Some(live);
        }
        self.live.as_mut().ok_or(CallError::Stopped)
    }

    async fn start(&mut self) -> Result<Live, CallError> {
        let runtime = &self.runtime;
        let mut store = Store::new(&runtime.engine, runtime.new_state());
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_callback(|store| {
            if Instant::now() >= store.data().deadline {
                Err(Trap::Interrupt.into())
            } else {
                // Let other tasks run while this plugin computes.
                Ok(UpdateDeadline::Yield(1))
            }
        });
        let timeout = runtime.limits.service_timeout;
        store.data_mut().deadline = Instant::now() + timeout;
        store.set_epoch_deadline(1);
        let started = tokio::time::timeout(timeout, async {
            let plugin = runtime.pre.instantiate(&mut store).await?;
            let init = plugin.init(&mut store).await?;
            wasmtime::Result::Ok((plugin, init))
        })
        .await;
        let describe = |store: &Store<PluginState>, error: &wasmtime::Error| {
            CallError::Start(classify(store, error, timeout).to_string())
        };
        match started {
            Ok(Ok((plugin, Ok(())))) => {
                tracing::debug!(plugin = %runtime.id, "started a fresh instance");
                Ok(Live { store, plugin })
            }
            Ok(Ok((_, Err(error)))) => Err(CallError::Start(format!("init returned {}", cap_message(error)))),
            Ok(Err(error)) => {
                runtime.log.report(|| {
                    format!("instance failed to start: {}", crate::capabilities::log::cut(&format!("{error:#}")))
                });
                Err(describe(&store, &error))
            }
            Err(_) => Err(CallError::Start(CallError::Timeout(timeout).to_string())),
        }
    }

    /// Turns the outcome of a call into its result; a call that did not return
    /// normally leaves the instance in an unknown state, so it is dropped. The call's
    /// writes are not durable yet: see [`Worker::make_durable`].
    fn settle<T>(
        &mut self,
        outcome: Result<wasmtime::Result<Result<T, PluginError>>, tokio::time::error::Elapsed>,
        timeout: Duration,
    ) -> Result<T, CallError> {
        let Some(live) = self.live.as_mut() else {
            return Err(CallError::Stopped);
        };
        let kv = &mut live.store.data_mut().capabilities.kv;
        let backend_failed = std::mem::take(&mut kv.backend_failed);
        self.unflushed |= std::mem::take(&mut kv.dirty);
        let result = match outcome {
            Ok(Ok(Err(_))) if backend_failed => storage_failed_during_call(),
            Ok(Ok(returned)) => return returned.map_err(|error| CallError::Plugin(cap_message(error))),
            Ok(Err(_)) if backend_failed => storage_failed_during_call(),
            Ok(Err(error)) => {
                let failure = classify(&live.store, &error, timeout);
                self.runtime
                    .log
                    .report(|| format!("plugin call failed: {}", crate::capabilities::log::cut(&failure.to_string())));
                failure
            }
            Err(_) => CallError::Timeout(timeout),
        };
        self.live = None;
        Err(result)
    }

    /// Durable before acknowledged: one flush for the writes of every call since the
    /// last one (a service call, or a whole run of events).
    async fn make_durable(&mut self) -> Result<(), CallError> {
        if !std::mem::take(&mut self.unflushed) {
            return Ok(());
        }
        if let Err(error) = self.runtime.backends.storage.flush().await {
            tracing::error!(plugin = %self.runtime.id, %error, "kv flush failed");
            // What the instance holds in memory may rest on writes that were lost.
            self.live = None;
            return Err(CallError::Storage("the plugin's writes could not be made durable".into()));
        }
        Ok(())
    }
}

/// A call whose storage failed midway: the host's failure, retried later.
fn storage_failed_during_call() -> CallError {
    CallError::Storage("storage was unavailable during the call; it will be retried".into())
}

/// Largest answer a service call may return.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;
/// Longest message a plugin error keeps (it is shown to callers and stored with dead letters).
pub const MAX_ERROR_MESSAGE_BYTES: usize = 1024;

/// Cuts a plugin error's message to [`MAX_ERROR_MESSAGE_BYTES`].
fn cap_message(error: PluginError) -> PluginError {
    let cut = |mut message: String| {
        if message.len() > MAX_ERROR_MESSAGE_BYTES {
            message.truncate(message.floor_char_boundary(MAX_ERROR_MESSAGE_BYTES));
            message.push_str(" …(cut)");
        }
        message
    };
    match error {
        PluginError::InvalidInput(message) => PluginError::InvalidInput(cut(message)),
        PluginError::NotFound(message) => PluginError::NotFound(cut(message)),
        PluginError::Unavailable(message) => PluginError::Unavailable(cut(message)),
        PluginError::Internal(message) => PluginError::Internal(cut(message)),
    }
}

impl Live {
    /// Arms the deadline for the next call (its own budget, cut short by the caller's
    /// deadline) and returns it.
    /// Returns the deadline and the budget it leaves, which is what a timeout reports.
    fn begin_call(
        &mut self,
        timeout: Duration,
        caller_deadline: Option<Instant>,
        chain: Vec<Arc<str>>,
    ) -> (Instant, Duration) {
        let now = Instant::now();
        let own = now + timeout;
        let deadline = caller_deadline.map_or(own, |caller| caller.min(own));
        let state = self.store.data_mut();
        state.deadline = deadline;
        state.capabilities.services.chain = chain;
        state.capabilities.services.deadline = deadline;
        state.limiter.exceeded = false;
        self.store.set_epoch_deadline(1);
        (deadline, if deadline == own { timeout } else { deadline.saturating_duration_since(now) })
    }
}

/// The outcome and duration of one plugin call, inside its span.
fn record_outcome<T>(result: &Result<T, CallError>, elapsed: Duration) {
    match result {
        Ok(_) => tracing::debug!(outcome = "ok", ?elapsed, "plugin call"),
        Err(error) => tracing::debug!(outcome = %error, ?elapsed, "plugin call"),
    }
}

/// Names why a call into the plugin failed.
fn classify(store: &Store<PluginState>, error: &wasmtime::Error, timeout: Duration) -> CallError {
    if store.data().limiter.exceeded {
        return CallError::MemoryExhausted { limit_bytes: store.data().limiter.limit_bytes() };
    }
    if let Some(failed) = error.downcast_ref::<crate::capabilities::BackendFailed>() {
        return CallError::Storage(failed.to_string());
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => CallError::Timeout(timeout),
        Some(trap) => CallError::Trap(trap.to_string()),
        None => CallError::Trap(error.root_cause().to_string()),
    }
}
