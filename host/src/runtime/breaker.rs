//! A plugin's circuit breaker: when a plugin keeps failing, stop sending it work,
//! without letting one caller take it away from everybody else.
//!
//! - Event delivery: consecutive failed attempts (any lane) quarantine the plugin;
//!   delivery stops, its events wait in the log, and an operator resumes it.
//! - Service calls: failures count per caller (the household, else the calling
//!   plugin, else the operator). A caller whose calls keep failing is suspended from
//!   this plugin for [`CALLER_SUSPENSION`]; other callers go on being served. The
//!   plugin is quarantined for everybody only when consecutive call failures come
//!   from at least [`CALLERS_TO_QUARANTINE`] different callers.
//!
//! A quarantine is stored with why it happened (cause, lanes or callers, the last
//! errors), so it survives a restart and an operator can see the reason.

use crate::HostError;
use crate::storage::{Bucket, BucketExt};
use crate::sync::lock;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a caller whose calls keep failing is refused by the plugin.
pub const CALLER_SUSPENSION: Duration = Duration::from_secs(30);
/// Different callers whose consecutive failures quarantine a plugin for everybody.
pub const CALLERS_TO_QUARANTINE: usize = 3;
/// Errors kept with a quarantine.
const LAST_ERRORS: usize = 5;
/// Callers tracked per plugin before the healthy ones are forgotten.
const TRACKED_CALLERS: usize = 10_000;

/// What tripped a quarantine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// Event deliveries kept failing.
    Events,
    /// Service calls from several callers kept failing.
    ServiceCalls,
}

/// Why a plugin is quarantined, for operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Quarantine {
    /// What kept failing.
    pub cause: Cause,
    /// Since when, ms since the epoch.
    pub since_ms: u64,
    /// Failures in a row that tripped it.
    pub consecutive_failures: u32,
    /// Lanes (instances) whose events failed, for `events`.
    #[serde(default)]
    pub lanes: Vec<usize>,
    /// Different callers whose calls failed, for `service-calls`.
    #[serde(default)]
    pub callers: usize,
    /// The newest errors, oldest first.
    pub last_errors: Vec<String>,
}

#[derive(Debug, Default)]
struct Failures {
    consecutive: u32,
    lanes: BTreeSet<usize>,
    callers: BTreeSet<String>,
    last_errors: VecDeque<String>,
}

impl Failures {
    fn note(&mut self, error: &str) {
        if self.last_errors.len() == LAST_ERRORS {
            self.last_errors.pop_front();
        }
        self.last_errors.push_back(error.chars().take(300).collect());
        self.consecutive += 1;
    }

    fn reset(&mut self) {
        *self = Failures::default();
    }
}

#[derive(Debug, Default)]
struct Caller {
    consecutive: u32,
    suspended_until: Option<Instant>,
}

/// What the breaker counted.
#[derive(Debug, Default)]
pub struct BreakerCounters {
    /// Times the plugin was quarantined.
    pub quarantines: AtomicU64,
    /// Times a caller was suspended from the plugin.
    pub callers_suspended: AtomicU64,
}

/// A plugin's circuit breaker: quarantine for events, suspension per caller for calls.
#[derive(Debug)]
pub struct Breaker {
    plugin: Arc<str>,
    threshold: u32,
    events: Mutex<Failures>,
    calls: Mutex<(Failures, HashMap<String, Caller>)>,
    quarantined: watch::Sender<Option<Quarantine>>,
    store: Arc<dyn Bucket>,
    /// What it did since the plugin started.
    pub counters: BreakerCounters,
}

impl Breaker {
    /// The plugin's breaker, quarantined if a stored quarantine says so.
    pub fn open(plugin: Arc<str>, threshold: u32, store: Arc<dyn Bucket>) -> Result<Self, HostError> {
        let stored = store.value(plugin.as_bytes())?.map(|bytes| {
            // A record of an earlier version holds only the failure count.
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Quarantine {
                cause: Cause::Events,
                since_ms: 0,
                consecutive_failures: threshold,
                lanes: Vec::new(),
                callers: 0,
                last_errors: Vec::new(),
            })
        });
        Ok(Breaker {
            plugin,
            threshold: threshold.max(1),
            events: Mutex::default(),
            calls: Mutex::default(),
            quarantined: watch::channel(stored).0,
            store,
            counters: BreakerCounters::default(),
        })
    }

    /// Whether the plugin is quarantined.
    pub fn is_quarantined(&self) -> bool {
        self.quarantined.borrow().is_some()
    }

    /// Why the plugin is quarantined, if it is.
    pub fn quarantine(&self) -> Option<Quarantine> {
        self.quarantined.borrow().clone()
    }

    /// An event was handled: the run of failures ends.
    pub fn record_event_success(&self) {
        lock(&self.events).reset();
    }

    /// Counts a failed delivery attempt on `lane`; true when it quarantined the plugin.
    pub fn record_event_failure(&self, lane: usize, error: &str) -> bool {
        let mut events = lock(&self.events);
        events.note(error);
        events.lanes.insert(lane);
        if events.consecutive < self.threshold {
            return false;
        }
        let quarantine = Quarantine {
            cause: Cause::Events,
            since_ms: crate::clock::now_ms(),
            consecutive_failures: events.consecutive,
            lanes: events.lanes.iter().copied().collect(),
            callers: 0,
            last_errors: events.last_errors.iter().cloned().collect(),
        };
        events.reset();
        drop(events);
        self.trip(quarantine)
    }

    /// Whether `caller` may call the plugin now: `Err` with the time left of its suspension.
    pub fn admit(&self, caller: &str) -> Result<(), Duration> {
        let calls = lock(&self.calls);
        match calls.1.get(caller).and_then(|state| state.suspended_until) {
            Some(until) => match until.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Err(left),
                _ => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// A call by `caller` succeeded: its run of failures ends.
    pub fn record_call_success(&self, caller: &str) {
        let mut calls = lock(&self.calls);
        calls.0.reset();
        calls.1.remove(caller);
    }

    /// Counts a failed call by `caller`; suspends the caller after `threshold`
    /// consecutive failures, and quarantines the plugin when the failures since the
    /// last success came from enough different callers. True when it quarantined.
    pub fn record_call_failure(&self, caller: &str, error: &str) -> bool {
        let mut calls = lock(&self.calls);
        let (failures, callers) = &mut *calls;
        failures.note(error);
        failures.callers.insert(caller.to_owned());
        if callers.len() >= TRACKED_CALLERS {
            callers.retain(|_, state| state.suspended_until.is_some_and(|until| until > Instant::now()));
        }
        let state = callers.entry(caller.to_owned()).or_default();
        state.consecutive += 1;
        if state.consecutive >= self.threshold {
            state.consecutive = 0;
            state.suspended_until = Some(Instant::now() + CALLER_SUSPENSION);
            self.counters.callers_suspended.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(plugin = %self.plugin, caller, "caller suspended from the plugin after consecutive failures");
        }
        if failures.consecutive < self.threshold || failures.callers.len() < CALLERS_TO_QUARANTINE {
            return false;
        }
        let quarantine = Quarantine {
            cause: Cause::ServiceCalls,
            since_ms: crate::clock::now_ms(),
            consecutive_failures: failures.consecutive,
            lanes: Vec::new(),
            callers: failures.callers.len(),
            last_errors: failures.last_errors.iter().cloned().collect(),
        };
        failures.reset();
        drop(calls);
        self.trip(quarantine)
    }

    fn trip(&self, quarantine: Quarantine) -> bool {
        if self.is_quarantined() {
            return false;
        }
        match serde_json::to_vec(&quarantine) {
            Ok(bytes) => {
                if let Err(error) = self.store.put(self.plugin.as_bytes(), &bytes) {
                    tracing::error!(plugin = %self.plugin, %error, "could not store the quarantine");
                }
            }
            Err(error) => tracing::error!(plugin = %self.plugin, %error, "could not encode the quarantine"),
        }
        tracing::warn!(plugin = %self.plugin, cause = ?quarantine.cause, failures = quarantine.consecutive_failures,
            last_error = quarantine.last_errors.last().map_or("", String::as_str), "plugin quarantined");
        self.quarantined.send_replace(Some(quarantine));
        self.counters.quarantines.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Lifts the quarantine and every caller's suspension; returns whether the
    /// plugin was quarantined.
    pub fn resume(&self) -> Result<bool, HostError> {
        self.store.delete(self.plugin.as_bytes())?;
        lock(&self.events).reset();
        {
            let mut calls = lock(&self.calls);
            calls.0.reset();
            calls.1.clear();
        }
        let was = self.quarantined.send_replace(None).is_some();
        if was {
            tracing::info!(plugin = %self.plugin, "plugin resumed");
        }
        Ok(was)
    }

    /// Takes on a quarantine another host stored or lifted (`None`), without storing it
    /// again: a plugin quarantined anywhere stops everywhere, and resumes everywhere.
    pub fn adopt(&self, stored: Option<Quarantine>) {
        if stored.is_none() {
            lock(&self.events).reset();
            let mut calls = lock(&self.calls);
            calls.0.reset();
            calls.1.clear();
        }
        self.quarantined.send_if_modified(|current| {
            let changed = current.is_some() != stored.is_some();
            *current = stored;
            changed
        });
    }

    /// Turns true when the plugin is quarantined, false when resumed.
    pub fn watch(&self) -> watch::Receiver<Option<Quarantine>> {
        self.quarantined.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: u32) -> (tempfile::TempDir, Breaker) {
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::storage::sled::SledStorage::open(dir.path()).unwrap();
        let bucket = crate::storage::Storage::bucket(&storage, "quarantine").unwrap();
        let breaker = Breaker::open("p".into(), threshold, bucket).unwrap();
        (dir, breaker)
    }

    /// One caller failing without end is suspended, never quarantines the plugin;
    /// others are served meanwhile.
    #[test]
    fn one_callers_failures_suspend_only_that_caller() {
        let (_dir, breaker) = breaker(3);
        for _ in 0..30 {
            if breaker.admit("house-a").is_ok() {
                assert!(!breaker.record_call_failure("house-a", "timed out"));
            }
        }
        assert!(!breaker.is_quarantined());
        assert!(breaker.admit("house-a").is_err(), "house-a is suspended");
        assert!(breaker.admit("house-b").is_ok(), "house-b is served");
        assert_eq!(breaker.counters.callers_suspended.load(Ordering::Relaxed), 1);
    }

    /// Failures spread over several callers quarantine the plugin, with the reason.
    #[test]
    fn failures_across_callers_quarantine_with_the_reason() {
        let (_dir, breaker) = breaker(4);
        let mut tripped = false;
        for caller in ["a", "b", "c", "a"] {
            tripped |= breaker.record_call_failure(caller, &format!("trap for {caller}"));
        }
        assert!(tripped && breaker.is_quarantined());
        let quarantine = breaker.quarantine().unwrap();
        assert_eq!(
            (quarantine.cause, quarantine.callers, quarantine.consecutive_failures),
            (Cause::ServiceCalls, 3, 4)
        );
        assert_eq!(quarantine.last_errors.last().unwrap(), "trap for a");
        assert!(breaker.resume().unwrap());
        assert!(!breaker.is_quarantined());
    }

    /// A success in between starts the count over; events quarantine by lane.
    #[test]
    fn successes_reset_and_events_quarantine_by_lane() {
        let (_dir, breaker) = breaker(2);
        assert!(!breaker.record_event_failure(0, "x"));
        breaker.record_event_success();
        assert!(!breaker.record_event_failure(1, "y"));
        assert!(breaker.record_event_failure(0, "z"));
        let quarantine = breaker.quarantine().unwrap();
        assert_eq!((quarantine.cause, quarantine.lanes), (Cause::Events, vec![0, 1]));
    }
}
