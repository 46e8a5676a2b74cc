//! A plugin's delivery and call counters. They are stored (the `plugin-counters`
//! bucket) by the upkeep task and when the plugin stops, so they go on across
//! restarts, upgrades and enabling.

use crate::HostError;
use crate::metrics::Histogram;
use crate::storage::{Bucket, BucketExt};
use std::sync::atomic::{AtomicU64, Ordering};

/// What happened to a plugin's events and calls; stored, so it survives restarts
/// and upgrades.
#[derive(Debug, Default)]
pub struct PluginCounters {
    /// Events it handled.
    pub delivered: AtomicU64,
    /// Failed delivery attempts.
    pub failed: AtomicU64,
    /// Attempts retried after a failure.
    pub retried: AtomicU64,
    /// Events dead-lettered after every retry.
    pub dead_lettered: AtomicU64,
    /// Events withheld for lack of consent.
    pub skipped_without_consent: AtomicU64,
    /// Service calls into the plugin that failed (other than its own errors).
    pub calls_failed: AtomicU64,
    /// Duration of `on-event` calls (delivery attempts).
    pub event_latency: Histogram,
    /// Duration of service calls into the plugin.
    pub service_latency: Histogram,
}

/// The stored form of [`PluginCounters`].
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[allow(missing_docs)] // the fields of PluginCounters
pub struct CounterSnapshot {
    pub delivered: u64,
    pub failed: u64,
    pub retried: u64,
    pub dead_lettered: u64,
    pub skipped_without_consent: u64,
    pub calls_failed: u64,
}

impl PluginCounters {
    /// The counters now.
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

/// Stores a plugin's counters.
pub fn store(bucket: &dyn Bucket, key: &[u8], counters: &PluginCounters) -> Result<(), HostError> {
    bucket.put_json(key, &counters.snapshot())?;
    Ok(())
}

/// The counters stored under `key`, or zeros.
pub fn stored(bucket: &dyn Bucket, key: &[u8]) -> PluginCounters {
    let snapshot = bucket.get_json(key).ok().flatten().unwrap_or_default();
    PluginCounters::restore(&snapshot)
}
