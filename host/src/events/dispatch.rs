//! Delivery from the log to plugins: one consumer task per (plugin, subscription).
//!
//! A consumer reads a batch after its cursor, keeps the events its subscription
//! matches and the household consented to, and hands them to the plugin's instances:
//! events of one device always go to the same instance, in log order, so per-device
//! order holds while different devices run in parallel. A failed event is retried with
//! exponential backoff and jitter, then dead-lettered; the cursor advances only past
//! events that were handled or dead-lettered (at-least-once). Consecutive failures
//! trip the plugin's circuit breaker: delivery stops, events wait in the log, and an
//! operator resumes it.

use super::catalog::HOST_PREFIX;
use super::dead_letters::{DeadLetter, DeadLetters};
use super::log::{EventLog, LogError, Seq, StoredEvent};
use crate::CallError;
use crate::bindings::Event;
use crate::breaker::Breaker;
use crate::households::Households;
use crate::refs::{Pseudonyms, RefKind};
use crate::worker::{EventOutcome, EventRun, PluginHandle};
use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How delivery retries, batches and quarantines.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Events a consumer reads from the log at once.
    pub batch_size: usize,
    /// Attempts per event before it is dead-lettered.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt, with up to 50 % random jitter.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Consecutive failed calls that quarantine a plugin.
    pub quarantine_after: u32,
    /// Events one plugin's subscription may fall behind the log's end. Past it, the
    /// oldest are passed over for that plugin (counted, and the plugin shows as
    /// overflowing) so that one stuck plugin never holds back ingest or the log.
    pub max_backlog: u64,
    /// How often backlogs are checked against the bound.
    pub backlog_check_interval: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            batch_size: 100,
            max_attempts: 5,
            backoff_base: Duration::from_millis(50),
            backoff_max: Duration::from_secs(5),
            quarantine_after: 10,
            max_backlog: 1_000_000,
            backlog_check_interval: Duration::from_secs(1),
        }
    }
}

impl DeliveryConfig {
    fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self.backoff_base.saturating_mul(1 << attempt.saturating_sub(1).min(16));
        let capped = exponential.min(self.backoff_max);
        let jitter = getrandom::u32().unwrap_or(0) % 1000;
        capped + capped.mul_f64(f64::from(jitter) / 2000.0)
    }
}

/// The instances serving one plugin.
#[derive(Debug, Clone)]
pub struct PluginPool {
    handles: Arc<[PluginHandle]>,
    next: Arc<AtomicUsize>,
}

impl PluginPool {
    pub fn new(handles: Vec<PluginHandle>) -> Self {
        PluginPool { handles: handles.into(), next: Arc::new(AtomicUsize::new(0)) }
    }

    pub fn size(&self) -> usize {
        self.handles.len()
    }

    /// The instance that serves events ordered by `key` (a device or household).
    pub fn lane_of(&self, key: &str) -> usize {
        if self.handles.len() <= 1 {
            return 0;
        }
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        (hasher.finish() % self.handles.len().max(1) as u64) as usize
    }

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
            self.on_events(lane, EventRun { events: Vec::new(), proceed: Box::new(|| true) }).await;
        }
    }

    /// Service calls go to the instances in turn.
    pub async fn handle(
        &self,
        call: crate::worker::ServiceCall,
    ) -> Result<crate::bindings::ServiceResponse, CallError> {
        let lane = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len().max(1);
        match self.handles.get(lane) {
            Some(handle) => handle.handle(call).await,
            None => Err(CallError::Stopped),
        }
    }
}

/// What happened to a plugin's events and calls; stored, so it survives restarts
/// and upgrades.
#[derive(Debug, Default)]
pub struct PluginCounters {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    pub dead_lettered: AtomicU64,
    pub skipped_without_consent: AtomicU64,
    /// Service calls into the plugin that failed (other than its own errors).
    pub calls_failed: AtomicU64,
    /// Duration of `on-event` calls (delivery attempts).
    pub event_latency: crate::metrics::Histogram,
    /// Duration of service calls into the plugin.
    pub service_latency: crate::metrics::Histogram,
}

/// The stored form of [`PluginCounters`].
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CounterSnapshot {
    pub delivered: u64,
    pub failed: u64,
    pub retried: u64,
    pub dead_lettered: u64,
    pub skipped_without_consent: u64,
    pub calls_failed: u64,
}

impl PluginCounters {
    pub fn snapshot(&self) -> CounterSnapshot {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CounterSnapshot {
            delivered: read(&self.delivered),
            failed: read(&self.failed),
            retried: read(&self.retried),
            dead_lettered: read(&self.dead_lettered),
            skipped_without_consent: read(&self.skipped_without_consent),
            calls_failed: read(&self.calls_failed),
        }
    }

    /// Counters that go on from a snapshot (latencies start over).
    pub fn restore(snapshot: &CounterSnapshot) -> Self {
        PluginCounters {
            delivered: AtomicU64::new(snapshot.delivered),
            failed: AtomicU64::new(snapshot.failed),
            retried: AtomicU64::new(snapshot.retried),
            dead_lettered: AtomicU64::new(snapshot.dead_lettered),
            skipped_without_consent: AtomicU64::new(snapshot.skipped_without_consent),
            calls_failed: AtomicU64::new(snapshot.calls_failed),
            ..PluginCounters::default()
        }
    }
}

/// Everything consumers share.
pub struct Delivery {
    pub log: Arc<dyn EventLog>,
    pub households: Households,
    pub refs: Pseudonyms,
    pub dead_letters: DeadLetters,
    pub config: DeliveryConfig,
}

/// One plugin, as its consumers see it.
#[derive(Clone)]
pub struct PluginLink {
    pub id: Arc<str>,
    pub pool: PluginPool,
    pub breaker: Arc<Breaker>,
    pub counters: Arc<PluginCounters>,
    /// The plugin's log budget, which host lines it causes count against.
    pub log: Arc<crate::capabilities::log::LogBudget>,
}

/// What a consumer delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    /// Topics matching a pattern from the plugin's manifest.
    Pattern(String),
    /// The host's own events addressed to this plugin (`household.…`).
    HostEvents,
}

impl Subscription {
    fn consumer_name(&self, plugin: &str) -> String {
        match self {
            Subscription::Pattern(pattern) => format!("{plugin}|{pattern}"),
            Subscription::HostEvents => format!("{plugin}|{HOST_PREFIX}"),
        }
    }

    fn selects(&self, plugin: &str, event: &StoredEvent) -> bool {
        let host_event = event.topic.starts_with(HOST_PREFIX);
        match self {
            Subscription::Pattern(pattern) => {
                !host_event && event.target.is_none() && hearth_registry::topic::matches(pattern, &event.topic)
            }
            Subscription::HostEvents => host_event && event.target.as_deref() == Some(plugin),
        }
    }
}

/// Starts a consumer; it stops when `shutdown` turns true. Its cursor is opened before
/// this returns, so a new consumer receives every event appended after that, however
/// late its task first runs.
pub fn spawn_consumer(
    delivery: Arc<Delivery>,
    plugin: PluginLink,
    subscription: Subscription,
    shutdown: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, LogError> {
    let name = subscription.consumer_name(&plugin.id);
    let cursor = delivery.log.open_consumer(&name)?;
    let consumer = Consumer {
        name,
        delivery,
        plugin,
        subscription,
        shutdown,
        consent: Mutex::new(ConsentCache::default()),
        refs: Mutex::new(HashMap::new()),
    };
    Ok(tokio::spawn(consumer.run(cursor)))
}

struct Consumer {
    name: String,
    delivery: Arc<Delivery>,
    plugin: PluginLink,
    subscription: Subscription,
    shutdown: watch::Receiver<bool>,
    consent: Mutex<ConsentCache>,
    /// Refs this consumer has minted, by (kind, real id).
    refs: Mutex<HashMap<(RefKind, String), String>>,
}

/// Consent decisions, valid while the registry's generation is unchanged: any grant,
/// revocation or device change empties it, so a revocation still holds at once.
#[derive(Default)]
struct ConsentCache {
    generation: u64,
    decisions: HashMap<(String, Option<String>), bool>,
}

/// Entries kept in each consumer cache before it starts over.
const CACHE_ENTRIES: usize = 100_000;

/// How far a lane got through its events.
enum Progress {
    Done,
    /// Stopped before this event (quarantine or shutdown); it was not handled.
    StoppedAt(Seq),
}

impl Consumer {
    async fn run(mut self, mut cursor: Seq) {
        let log = self.delivery.log.clone();
        let mut appended = log.watch();
        let mut quarantine = self.plugin.breaker.watch();
        while !*self.shutdown.borrow() {
            if quarantine.borrow_and_update().is_some() {
                tokio::select! {
                    _ = quarantine.changed() => continue,
                    _ = self.shutdown.changed() => break,
                }
            }
            appended.borrow_and_update();
            // The backlog bound may have moved the stored cursor on while this one waited.
            if let Ok(stored) = log.open_consumer(&self.name) {
                cursor = cursor.max(stored);
            }
            let batch = match log.read_after(cursor, self.delivery.config.batch_size) {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::error!(consumer = %self.name, %error, "reading the log failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let Some(&(last, _)) = batch.last() else {
                tokio::select! {
                    _ = appended.changed() => continue,
                    _ = self.shutdown.changed() => break,
                }
            };
            let handled_through = match self.deliver(batch).await {
                Progress::Done => last,
                Progress::StoppedAt(seq) => seq - 1,
            };
            if handled_through > cursor {
                cursor = match log.ack(&self.name, handled_through) {
                    // Past `handled_through` when the backlog bound moved it on.
                    Ok(stored) => stored,
                    Err(error) => {
                        tracing::error!(consumer = %self.name, %error, "storing the cursor failed");
                        handled_through
                    }
                };
            }
        }
    }

    /// Delivers one batch: selected events split into per-instance lanes that run in
    /// parallel, each in log order.
    async fn deliver(&self, batch: Vec<(Seq, Arc<StoredEvent>)>) -> Progress {
        let pool = &self.plugin.pool;
        let mut lanes: Vec<Vec<(Seq, Arc<StoredEvent>)>> = vec![Vec::new(); pool.size().max(1)];
        for (seq, event) in batch {
            if self.subscription.selects(&self.plugin.id, &event) {
                let key = event.device.as_deref().unwrap_or(&event.household);
                lanes[pool.lane_of(key)].push((seq, event));
            }
        }
        let runs = lanes
            .into_iter()
            .enumerate()
            .filter(|(_, events)| !events.is_empty())
            .map(|(lane, events)| self.deliver_lane(lane, events));
        let mut stopped: Option<Seq> = None;
        for progress in futures::future::join_all(runs).await {
            if let Progress::StoppedAt(seq) = progress {
                stopped = Some(stopped.map_or(seq, |earliest| earliest.min(seq)));
            }
        }
        stopped.map_or(Progress::Done, Progress::StoppedAt)
    }

    /// Delivers one lane's events in order, in runs: one message to the instance per
    /// run of consented events. A failed event is retried on its own before the lane
    /// goes on.
    async fn deliver_lane(&self, lane: usize, events: Vec<(Seq, Arc<StoredEvent>)>) -> Progress {
        let counters = &self.plugin.counters;
        let mut next = 0;
        while let Some(&(first_seq, _)) = events.get(next) {
            if self.stopping() {
                return Progress::StoppedAt(first_seq);
            }
            // Consent is checked for the whole run now, and the run stops at the
            // first event after any grant or revocation, so that one is checked again.
            let generation = self.delivery.households.generation();
            let mut run = Vec::new();
            let mut positions = Vec::new();
            let mut end = next;
            while let Some((seq, event)) = events.get(end) {
                match self.prepare(event) {
                    Ok(Some(wit_event)) => {
                        run.push(wit_event);
                        positions.push(end);
                    }
                    Ok(None) => {
                        counters.skipped_without_consent.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        tracing::error!(plugin = %self.plugin.id, %error, "consent or refs failed");
                        if run.is_empty() {
                            return Progress::StoppedAt(*seq);
                        }
                        break;
                    }
                }
                end += 1;
            }
            if run.is_empty() {
                next = end;
                continue;
            }
            let proceed = {
                let households = self.delivery.households.clone();
                let shutdown = self.shutdown.clone();
                let breaker = self.plugin.breaker.clone();
                move || households.generation() == generation && !*shutdown.borrow() && !breaker.is_quarantined()
            };
            let sent = run.len();
            let outcomes = self.plugin.pool.on_events(lane, EventRun { events: run, proceed: Box::new(proceed) }).await;
            let called = outcomes.len();
            for (index, (result, elapsed)) in outcomes.into_iter().enumerate() {
                counters.event_latency.record(elapsed);
                let (seq, event) = &events[positions[index]];
                match result {
                    Ok(()) => {
                        self.plugin.breaker.record_event_success();
                        counters.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(CallError::Stopped) => return Progress::StoppedAt(*seq),
                    Err(error) => {
                        let error = error.to_string();
                        if self.record_failure(lane, &error) || !self.retry(lane, *seq, event, error).await {
                            return Progress::StoppedAt(*seq);
                        }
                    }
                }
            }
            next = match called {
                0 => return Progress::StoppedAt(events[positions[0]].0),
                // Stopped early: look at the rest again.
                called if called < sent => positions[called],
                _ => end,
            };
        }
        Progress::Done
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow() || self.plugin.breaker.is_quarantined()
    }

    /// Counts a failed attempt; true when it quarantined the plugin.
    fn record_failure(&self, lane: usize, error: &str) -> bool {
        self.plugin.counters.failed.fetch_add(1, Ordering::Relaxed);
        self.plugin.breaker.record_event_failure(lane, error)
    }

    /// Retries an event whose first attempt failed with `first_error`, with backoff,
    /// up to the attempt limit, then dead-letters it. False when delivery must stop
    /// before it (shutdown, quarantine, a storage failure).
    async fn retry(&self, lane: usize, seq: Seq, event: &Arc<StoredEvent>, first_error: String) -> bool {
        let config = &self.delivery.config;
        let counters = &self.plugin.counters;
        let mut last_error = first_error;
        for attempt in 2..=config.max_attempts {
            counters.retried.fetch_add(1, Ordering::Relaxed);
            let mut shutdown = self.shutdown.clone();
            tokio::select! {
                () = tokio::time::sleep(config.backoff(attempt - 1)) => {}
                _ = shutdown.changed() => return false,
            }
            if self.stopping() {
                return false;
            }
            // Checked before every attempt: a revocation holds for whatever is not yet delivered.
            let wit_event = match self.prepare(event) {
                Ok(Some(wit_event)) => wit_event,
                Ok(None) => {
                    counters.skipped_without_consent.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                Err(error) => {
                    tracing::error!(plugin = %self.plugin.id, %error, "consent or refs failed");
                    return false;
                }
            };
            let started = std::time::Instant::now();
            let result = self.plugin.pool.on_event(lane, wit_event).await;
            counters.event_latency.record(started.elapsed());
            if tracing::enabled!(tracing::Level::DEBUG) && self.plugin.log.admit() {
                tracing::debug!(plugin = %self.plugin.id, topic = %event.topic, event = %event.id, attempt,
                    ok = result.is_ok(), "on-event retried");
            }
            match result {
                Ok(()) => {
                    self.plugin.breaker.record_event_success();
                    counters.delivered.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                Err(CallError::Stopped) => return false,
                Err(error) => {
                    last_error = error.to_string();
                    if self.record_failure(lane, &last_error) {
                        return false;
                    }
                }
            }
        }
        let letter = DeadLetter {
            seq,
            event: StoredEvent::clone(event),
            error: last_error,
            // The first attempt always happens, whatever the configuration says.
            attempts: config.max_attempts.max(1),
            time_ms: crate::clock::now_ms(),
        };
        if self.plugin.log.admit() {
            tracing::warn!(plugin = %self.plugin.id, seq, event = %letter.event.id,
                error = crate::capabilities::log::cut(&letter.error), "dead-lettered");
        }
        if let Err(error) = self.delivery.dead_letters.put(&self.plugin.id, &letter) {
            tracing::error!(plugin = %self.plugin.id, %error, "storing a dead letter failed");
            return false;
        }
        counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// The event as this plugin sees it, or `None` when the household has not consented.
    fn prepare(&self, event: &StoredEvent) -> Result<Option<Event>, crate::HostError> {
        if self.consented(event)? { self.pseudonymise(event).map(Some) } else { Ok(None) }
    }

    fn consented(&self, event: &StoredEvent) -> Result<bool, crate::HostError> {
        if event.target.is_some() {
            // Addressed to this plugin by the host (a revocation notice, an order it proposed).
            return Ok(true);
        }
        let households = &self.delivery.households;
        let generation = households.generation();
        let key = (event.household.clone(), event.device.clone());
        {
            let mut cache = lock(&self.consent);
            if cache.generation != generation || cache.decisions.len() >= CACHE_ENTRIES {
                cache.decisions.clear();
                cache.generation = generation;
            }
            if let Some(&allowed) = cache.decisions.get(&key) {
                return Ok(allowed);
            }
        }
        let allowed = households.allows(&self.plugin.id, &event.household, event.device.as_deref())?;
        let mut cache = lock(&self.consent);
        // A change while the registry was read makes this decision stale: do not keep it.
        if cache.generation == generation && households.generation() == generation {
            cache.decisions.insert(key, allowed);
        }
        Ok(allowed)
    }

    fn pseudonymise(&self, event: &StoredEvent) -> Result<Event, crate::HostError> {
        pseudonymise_with(event, |kind, id| self.mint(kind, id))
    }

    fn mint(&self, kind: RefKind, id: &str) -> Result<String, crate::HostError> {
        let key = (kind, id.to_owned());
        if let Some(reference) = lock(&self.refs).get(&key) {
            return Ok(reference.clone());
        }
        let reference = self.delivery.refs.mint(&self.plugin.id, kind, id)?;
        let mut refs = lock(&self.refs);
        if refs.len() >= CACHE_ENTRIES {
            refs.clear();
        }
        refs.insert(key, reference.clone());
        Ok(reference)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The event as `plugin` may see it: household and device replaced by its refs.
pub fn pseudonymise(refs: &Pseudonyms, plugin: &str, event: &StoredEvent) -> Result<Event, crate::HostError> {
    pseudonymise_with(event, |kind, id| refs.mint(plugin, kind, id))
}

/// The event with household and device replaced by what `mint` gives; a household
/// that already is a ref (an erasure's notice) is passed as it is.
fn pseudonymise_with(
    event: &StoredEvent,
    mint: impl Fn(RefKind, &str) -> Result<String, crate::HostError>,
) -> Result<Event, crate::HostError> {
    let household =
        if event.pseudonymous { event.household.clone() } else { mint(RefKind::Household, &event.household)? };
    Ok(Event {
        id: event.id.clone(),
        topic: event.topic.clone(),
        time_ms: event.time_ms,
        household,
        device: event.device.as_deref().map(|device| mint(RefKind::Device, device)).transpose()?,
        body: event.body.clone(),
    })
}
