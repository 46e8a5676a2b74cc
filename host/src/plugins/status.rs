//! What operators see of a plugin.

use super::Plugins;
use crate::HostError;
use crate::events::consumer;
use crate::runtime::breaker::Quarantine;
use crate::runtime::counters;
use crate::runtime::limits::Limits;
use crate::storage::{BucketExt as _, decode_u64};
use hearth_package::Manifest;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// What an install or a load reports.
#[derive(Debug, Clone)]
pub struct LoadedPlugin {
    /// The manifest it runs under (the operator's grants and limits applied).
    pub manifest: Manifest,
    /// The limits it runs under.
    pub limits: Limits,
    /// Hex SHA-256 of the component.
    pub component_hash: String,
    /// Time to compile the component or fetch it from the artifact cache.
    pub load_time: Duration,
}

/// A plugin's delivery state, for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginStatus {
    /// Whether delivery and calls to it are stopped until an operator resumes it.
    pub quarantined: bool,
    /// Why, while quarantined.
    pub quarantine: Option<Quarantine>,
    /// Service calls into the plugin that failed (not counting its own errors).
    pub calls_failed: u64,
    /// Times a caller was suspended after its calls kept failing.
    pub callers_suspended: u64,
    /// Events its slowest subscription has not handled yet.
    pub lag: u64,
    /// Its backlog is at the bound: the oldest events are being passed over.
    pub overflowing: bool,
    /// Log events it passed over because its backlog hit the bound.
    pub backlog_skipped: u64,
    /// Events it handled.
    pub delivered: u64,
    /// Failed delivery attempts.
    pub failed: u64,
    /// Attempts retried after a failure.
    pub retried: u64,
    /// Events dead-lettered after every retry.
    pub dead_lettered: u64,
    /// Events withheld for lack of consent.
    pub skipped_without_consent: u64,
    /// Times it was quarantined.
    pub quarantines: u64,
    /// Log lines dropped over the plugin's log rate.
    pub log_lines_dropped: u64,
    /// Calls its manifest does not allow, each refused: capabilities it does not request
    /// (`not-granted`), services outside its `calls` (`not-allowed`).
    pub calls_not_granted: u64,
}

impl Plugins {
    /// Delivery counters and quarantine state of a running plugin.
    pub fn status(&self, plugin: &str) -> Option<PluginStatus> {
        let link = self.directory.link(plugin)?;
        let counters = &link.counters;
        let read = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        let lag = self.delivery.log.lag_of(&consumer::consumer_prefix(plugin)).unwrap_or(0);
        Some(PluginStatus {
            quarantined: link.breaker.is_quarantined(),
            quarantine: link.breaker.quarantine(),
            calls_failed: read(&counters.calls_failed),
            callers_suspended: read(&link.breaker.counters.callers_suspended),
            lag,
            overflowing: lag >= self.config.delivery.max_backlog,
            backlog_skipped: self.backlog_skipped(plugin),
            delivered: read(&counters.delivered),
            failed: read(&counters.failed),
            retried: read(&counters.retried),
            dead_lettered: read(&counters.dead_lettered),
            skipped_without_consent: read(&counters.skipped_without_consent),
            quarantines: read(&link.breaker.counters.quarantines),
            log_lines_dropped: link.log.dropped(),
            calls_not_granted: link.log.not_granted(),
        })
    }

    /// Log events `plugin` passed over because its backlog hit the bound.
    pub fn backlog_skipped(&self, plugin: &str) -> u64 {
        self.backlog_skipped.value(plugin.as_bytes()).ok().flatten().map_or(0, |bytes| decode_u64(Some(&bytes)))
    }

    /// Adds to the events `plugin` passed over because its backlog hit the bound.
    pub fn add_backlog_skipped(&self, plugin: &str, passed: u64) -> Result<(), HostError> {
        self.backlog_skipped.modify(plugin.as_bytes(), &mut |old| {
            Some(decode_u64(old).saturating_add(passed).to_be_bytes().to_vec())
        })?;
        Ok(())
    }

    /// Stores every running plugin's counters.
    pub fn store_counters(&self) {
        for link in self.directory.links() {
            if let Err(error) = counters::store(&*self.counters, &self.counters_key(&link.id), &link.counters) {
                tracing::error!(plugin = %link.id, %error, "storing the plugin's counters failed");
            }
        }
    }
}
