//! How a host is set up.

use crate::capabilities::http::HttpLimits;
use crate::events::ingest::IngestLimits;
use crate::households::notifications::RateLimit;
use crate::runtime::engine::EngineConfig;
use crate::runtime::limits::Limits;
use std::time::Duration;

/// How a host is set up; [`Default`] is what `hearth serve` runs with.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The wasmtime engine: allocator, pool sizes, the host's memory ceiling.
    pub engine: EngineConfig,
    /// Limits for plugins that request none.
    pub default_limits: Limits,
    /// The operator's caps: no plugin gets more, whatever it requests.
    pub max_limits: Limits,
    /// Retries, batches and quarantine of event delivery.
    pub delivery: DeliveryConfig,
    /// What one ingest request may carry.
    pub ingest: IngestLimits,
    /// Flush each group of appends before acknowledging it (on by default).
    pub durable: bool,
    /// How long delivered events stay in the log.
    pub retention: Duration,
    /// How often delivered events past the retention window are removed.
    pub compaction_interval: Duration,
    /// Notifications one plugin may send one household per window.
    pub notify_limit: RateLimit,
    /// Key-value storage per plugin.
    pub kv_quota_bytes: u64,
    /// Time and size limits of plugins' outbound HTTP.
    pub http_limits: HttpLimits,
    /// Accept packages without a signature (local development only; never in production).
    pub dev_allow_unsigned_packages: bool,
    /// The largest component an install accepts, in bytes (a package may be
    /// [`hearth_package::package::PACKAGE_OVERHEAD_BYTES`] larger).
    pub max_component_bytes: usize,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            engine: EngineConfig::default(),
            default_limits: Limits::default(),
            max_limits: Limits { concurrency: 8, ..Limits::default() },
            delivery: DeliveryConfig::default(),
            ingest: IngestLimits::default(),
            durable: true,
            retention: Duration::from_secs(3600),
            compaction_interval: Duration::from_secs(30),
            notify_limit: RateLimit::default(),
            kv_quota_bytes: crate::capabilities::kv::DEFAULT_QUOTA_BYTES,
            http_limits: HttpLimits::default(),
            dev_allow_unsigned_packages: false,
            max_component_bytes: crate::runtime::component::DEFAULT_MAX_COMPONENT_BYTES,
        }
    }
}

/// How delivery retries, batches and quarantines.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Events a consumer reads from the log at once.
    pub batch_size: usize,
    /// Attempts per event before it is dead-lettered.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt, with up to 50 % random jitter.
    pub backoff_base: Duration,
    /// The longest retry delay.
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
            batch_size: 500,
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
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self.backoff_base.saturating_mul(1 << attempt.saturating_sub(1).min(16));
        let capped = exponential.min(self.backoff_max);
        let jitter = getrandom::u32().unwrap_or(0) % 1000;
        capped + capped.mul_f64(f64::from(jitter) / 2000.0)
    }
}
