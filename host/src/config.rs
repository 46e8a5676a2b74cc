//! How a host is set up.

use crate::capabilities::http::HttpLimits;
use crate::events::consumer::DeliveryConfig;
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
        }
    }
}
