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

use super::dead_letters::DeadLetter;
use super::delivery::{Delivery, consents, pseudonymise_with};
use super::log::{LogError, Quiet, Seq, StoredEvent};
pub use super::subscription::{Subscription, consumer_plugin, consumer_prefix};
use crate::bindings::Event;
use crate::cluster::Claim;
use crate::households::refs::RefKind;
use crate::runtime::pool::PluginLink;
use crate::runtime::worker::EventRun;
use crate::sync::lock;
use crate::{CallError, HostError};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Starts a consumer: one task per partition of the log, each delivering while this
/// host holds its lease (always, alone); they stop when `shutdown` turns true. The
/// cursors are opened before this returns, so a new consumer receives every event
/// appended after that, however late its tasks first run.
pub fn spawn_consumer(
    delivery: Arc<Delivery>,
    plugin: PluginLink,
    subscription: Subscription,
    shutdown: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, LogError> {
    let partitions = delivery.log.partitions();
    let base = subscription.consumer_name(&plugin.id);
    let mut tasks = Vec::new();
    for partition in 0..partitions {
        // One partition keeps the consumer's own name (and the cursors of older data).
        let name = if partitions == 1 { base.clone() } else { format!("{base}#{partition}") };
        delivery.log.open_consumer(&name)?;
        let claim = delivery.leases.claim(&name);
        let consumer = Consumer {
            name,
            partition,
            delivery: delivery.clone(),
            plugin: plugin.clone(),
            subscription: subscription.clone(),
            shutdown: shutdown.clone(),
            lease_lost: watch::channel(false).1,
            consent: Mutex::new(ConsentCache::default()),
            refs: Mutex::default(),
        };
        tasks.push(tokio::spawn(consumer.run_claimed(claim, shutdown.clone())));
    }
    Ok(tokio::spawn(async move {
        for task in tasks {
            let _ = task.await;
        }
    }))
}

struct Consumer {
    name: String,
    partition: u32,
    delivery: Arc<Delivery>,
    plugin: PluginLink,
    subscription: Subscription,
    /// Stops this run: host shutdown, or the lease went to another host.
    shutdown: watch::Receiver<bool>,
    /// Turns true when this run lost the partition's lease: fences its plugin calls.
    lease_lost: watch::Receiver<bool>,
    consent: Mutex<ConsentCache>,
    /// Refs this consumer has minted, by real id: households, devices.
    refs: Mutex<[HashMap<String, String>; 2]>,
}

/// Consent decisions, valid while the registry's generation is unchanged: any grant,
/// revocation or device change empties it, so a revocation still holds at once.
#[derive(Default)]
struct ConsentCache {
    generation: u64,
    /// By household, then device ("" for events of no device): looked up by `&str`,
    /// so a hit allocates nothing.
    decisions: HashMap<String, HashMap<String, bool>>,
    entries: usize,
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
    /// Delivers whenever this host holds the partition's lease, from the stored cursor.
    async fn run_claimed(mut self, claim: Claim, mut shutdown: watch::Receiver<bool>) {
        let mut owned = claim.owned();
        loop {
            while !*owned.borrow_and_update() && !*shutdown.borrow() {
                tokio::select! {
                    changed = owned.changed() => if changed.is_err() { return },
                    _ = shutdown.changed() => {}
                }
            }
            if *shutdown.borrow() {
                return;
            }
            claim.set_running(true);
            let (stop, stopped) = watch::channel(false);
            let (lost, lease_lost) = watch::channel(false);
            (self.shutdown, self.lease_lost) = (stopped, lease_lost);
            let until_lost = async {
                while *owned.borrow_and_update() && !*shutdown.borrow() {
                    tokio::select! {
                        changed = owned.changed() => if changed.is_err() { break },
                        _ = shutdown.changed() => {}
                    }
                }
                if !*owned.borrow() {
                    lost.send_replace(true);
                }
                stop.send_replace(true);
            };
            match self.delivery.log.open_consumer(&self.name) {
                Ok(cursor) => {
                    tokio::join!(self.run(cursor), until_lost);
                }
                Err(error) => {
                    tracing::error!(consumer = %self.name, %error, "opening the cursor failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            claim.set_running(false);
        }
    }

    async fn run(&mut self, mut cursor: Seq) {
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
            let end = *appended.borrow_and_update();
            // The backlog bound may have moved the stored cursor on while this one waited.
            // (Read only: a plugin removed through another host must not get its
            // cursor back from a consumer that is about to stop.)
            if let Ok(Some(stored)) = log.cursor(&self.name) {
                cursor = cursor.max(stored);
            }
            let batch = match log.read_partition(self.partition, cursor, self.delivery.config.batch_size) {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::error!(consumer = %self.name, %error, "reading the log failed");
                    self.pause(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let Some(&(last, _)) = batch.last() else {
                // Events of other partitions went by: keep up with them. Waiting for the
                // next append is right only when nothing here is left unread: ingest may
                // have ended, and no append would wake this consumer again.
                match log.quiet_through(self.partition, cursor, end) {
                    Ok(Quiet::Through(quiet)) if quiet > cursor => {
                        cursor = log.ack(&self.name, quiet).unwrap_or(cursor);
                        continue;
                    }
                    Ok(Quiet::Through(_) | Quiet::Unknown) => {}
                    Ok(Quiet::Missed) => {
                        tracing::debug!(consumer = %self.name, "a read missed events; reading again");
                        self.pause(Duration::from_millis(100)).await;
                        continue;
                    }
                    Err(error) => {
                        tracing::warn!(consumer = %self.name, %error, "checking the partition failed");
                        self.pause(Duration::from_secs(1)).await;
                        continue;
                    }
                }
                tokio::select! {
                    _ = appended.changed() => continue,
                    _ = self.shutdown.changed() => break,
                }
            };
            let (handled_through, interrupted) = match self.deliver(batch).await {
                Progress::Done => (last, false),
                Progress::StoppedAt(seq) => (seq - 1, true),
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
            if interrupted && !self.stopping() {
                // Stopped for a passing reason (the host's storage): pause, then go on
                // from the event that was not handled.
                self.pause(Duration::from_millis(500)).await;
            }
        }
    }

    /// Waits `time`, or less when the consumer is told to stop.
    async fn pause(&mut self, time: Duration) {
        tokio::select! {
            () = tokio::time::sleep(time) => {}
            _ = self.shutdown.changed() => {}
        }
    }

    /// Delivers one batch: selected events split into per-instance lanes that run in
    /// parallel, each in log order.
    async fn deliver(&self, batch: Vec<(Seq, Arc<StoredEvent>)>) -> Progress {
        let pool = &self.plugin.pool;
        let mut lanes: Vec<Vec<(Seq, Arc<StoredEvent>)>> = vec![Vec::new(); pool.size().max(1)];
        for (seq, event) in batch {
            if self.subscription.selects(&self.plugin.id, &event) {
                lanes[pool.lane_of(event.device.as_deref(), &event.household)].push((seq, event));
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
            let outcomes = self
                .plugin
                .pool
                .on_events(
                    lane,
                    EventRun { events: run, proceed: Box::new(proceed), fence: Some(self.lease_lost.clone()) },
                )
                .await;
            let called = outcomes.len();
            // Successes are counted together: once per run, not per event.
            let mut succeeded = 0u64;
            let count_successes = |succeeded: &mut u64| {
                if *succeeded > 0 {
                    self.plugin.breaker.record_event_success();
                    counters.delivered.fetch_add(std::mem::take(succeeded), Ordering::Relaxed);
                }
            };
            for (index, (result, elapsed)) in outcomes.into_iter().enumerate() {
                counters.event_latency.record(elapsed);
                let (seq, event) = &events[positions[index]];
                match result {
                    Ok(()) => succeeded += 1,
                    // Stopping, or the host's storage failed: not the plugin's doing. The
                    // event waits in the log and is tried again.
                    Err(CallError::Stopped | CallError::Storage(_)) => {
                        count_successes(&mut succeeded);
                        return Progress::StoppedAt(*seq);
                    }
                    Err(error) => {
                        count_successes(&mut succeeded);
                        let error = error.to_string();
                        if self.record_failure(lane, &error) || !self.retry(lane, *seq, event, error).await {
                            return Progress::StoppedAt(*seq);
                        }
                    }
                }
            }
            count_successes(&mut succeeded);
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
                Err(CallError::Stopped | CallError::Storage(_)) => return false,
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
        self.plugin.log.report(|| {
            let error = crate::capabilities::log::cut(&letter.error);
            format!("event {} (seq {seq}, {}) dead-lettered: {error}", letter.event.id, letter.event.topic)
        });
        if let Err(error) = self.delivery.dead_letters.put(&self.plugin.id, &letter) {
            tracing::error!(plugin = %self.plugin.id, %error, "storing a dead letter failed");
            return false;
        }
        counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// The event as this plugin sees it, or `None` when the household has not consented.
    fn prepare(&self, event: &StoredEvent) -> Result<Option<Event>, HostError> {
        if self.consented(event)? { self.pseudonymise(event).map(Some) } else { Ok(None) }
    }

    fn consented(&self, event: &StoredEvent) -> Result<bool, HostError> {
        if event.target.is_some() {
            return Ok(true);
        }
        let households = &self.delivery.households;
        let generation = households.generation();
        let device = event.device.as_deref().unwrap_or_default();
        {
            let mut cache = lock(&self.consent);
            if cache.generation != generation || cache.entries >= CACHE_ENTRIES {
                cache.decisions.clear();
                cache.entries = 0;
                cache.generation = generation;
            }
            if let Some(&allowed) = cache.decisions.get(&event.household).and_then(|devices| devices.get(device)) {
                return Ok(allowed);
            }
        }
        let allowed = consents(households, &self.plugin.id, event)?;
        let mut cache = lock(&self.consent);
        // A change while the registry was read makes this decision stale: do not keep it.
        if cache.generation == generation && households.generation() == generation {
            cache.decisions.entry(event.household.clone()).or_default().insert(device.to_owned(), allowed);
            cache.entries += 1;
        }
        Ok(allowed)
    }

    fn pseudonymise(&self, event: &StoredEvent) -> Result<Event, HostError> {
        pseudonymise_with(event, |kind, id| self.mint(kind, id))
    }

    fn mint(&self, kind: RefKind, id: &str) -> Result<String, HostError> {
        let slot = match kind {
            RefKind::Household => 0,
            RefKind::Device => 1,
        };
        if let Some(reference) = lock(&self.refs)[slot].get(id) {
            return Ok(reference.clone());
        }
        let reference = self.delivery.refs.mint(&self.plugin.id, kind, id)?;
        let mut refs = lock(&self.refs);
        if refs[slot].len() >= CACHE_ENTRIES {
            refs[slot].clear();
        }
        refs[slot].insert(id.to_owned(), reference.clone());
        Ok(reference)
    }
}
