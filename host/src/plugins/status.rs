//! What operators see of a plugin.

use crate::runtime::breaker::Quarantine;
use crate::runtime::limits::Limits;
use hearth_package::Manifest;
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
}
