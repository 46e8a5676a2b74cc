//! Per-plugin resource limits: the plugin's request, capped by the operator.

use hearth_registry::RequestedLimits;
use std::time::Duration;

/// The limits one plugin runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest linear memory, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock budget of one `on-event` call.
    pub event_timeout: Duration,
    /// Wall-clock budget of one `handle` call (and of `init` on a fresh instance).
    pub service_timeout: Duration,
    /// Instances (each with its own store) serving the plugin in parallel.
    pub concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            event_timeout: Duration::from_millis(100),
            service_timeout: Duration::from_millis(500),
            concurrency: 1,
        }
    }
}

impl Limits {
    /// What the plugin asked for, or `defaults` where it did not ask, never above `caps`.
    pub fn resolve(requested: &RequestedLimits, defaults: &Limits, caps: &Limits) -> Limits {
        let memory_bytes = requested.memory_mb.map_or(defaults.memory_bytes, |mb| (mb as usize) << 20);
        let millis =
            |value: Option<u32>, default: Duration| value.map_or(default, |ms| Duration::from_millis(u64::from(ms)));
        Limits {
            memory_bytes: memory_bytes.min(caps.memory_bytes),
            event_timeout: millis(requested.timeout_ms, defaults.event_timeout).min(caps.event_timeout),
            service_timeout: millis(requested.service_timeout_ms, defaults.service_timeout).min(caps.service_timeout),
            concurrency: requested.concurrency.map_or(defaults.concurrency, |n| n as usize).min(caps.concurrency),
        }
    }
}

/// Caps one store's linear memory and records that the cap was hit, so an
/// allocation failure that ends in a trap is reported as memory exhaustion.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit_bytes: usize,
    pub(crate) exceeded: bool,
}

impl MemoryLimiter {
    pub fn new(limit_bytes: usize) -> Self {
        MemoryLimiter { limit_bytes, exceeded: false }
    }

    pub fn limit_bytes(&self) -> usize {
        self.limit_bytes
    }
}

/// Table growth beyond this many elements is refused (tables hold function refs).
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = desired <= self.limit_bytes && maximum.is_none_or(|max| desired <= max);
        self.exceeded |= !allowed;
        Ok(allowed)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS && maximum.is_none_or(|max| desired <= max))
    }
}

/// A token bucket: `per_second` sustained, up to `burst` at once after a quiet period.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    tokens: f64,
    last: std::time::Instant,
}

impl TokenBucket {
    pub fn full(burst: f64) -> Self {
        TokenBucket { tokens: burst, last: std::time::Instant::now() }
    }

    /// Takes one token, or answers how many seconds until one is there.
    pub fn take(&mut self, per_second: f64, burst: f64) -> Result<(), f64> {
        let now = std::time::Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * per_second).min(burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        Err((1.0 - self.tokens) / per_second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_gives_its_burst_then_its_rate() {
        let mut bucket = TokenBucket::full(3.0);
        assert!((0..3).all(|_| bucket.take(1.0, 3.0).is_ok()));
        let wait = bucket.take(1.0, 3.0).unwrap_err();
        assert!(wait > 0.0 && wait <= 1.0, "{wait}");
    }

    #[test]
    fn requests_are_honoured_below_the_caps_and_capped_above() {
        let defaults = Limits::default();
        let caps = Limits {
            memory_bytes: 128 << 20,
            event_timeout: Duration::from_secs(1),
            service_timeout: Duration::from_secs(2),
            concurrency: 4,
        };
        let none = Limits::resolve(&RequestedLimits::default(), &defaults, &caps);
        assert_eq!(none, defaults);
        let modest = RequestedLimits {
            memory_mb: Some(16),
            timeout_ms: Some(50),
            service_timeout_ms: None,
            concurrency: Some(2),
        };
        let resolved = Limits::resolve(&modest, &defaults, &caps);
        assert_eq!(resolved.memory_bytes, 16 << 20);
        assert_eq!(resolved.event_timeout, Duration::from_millis(50));
        assert_eq!(resolved.service_timeout, defaults.service_timeout);
        assert_eq!(resolved.concurrency, 2);
        let greedy = RequestedLimits {
            memory_mb: Some(4096),
            timeout_ms: Some(60_000),
            service_timeout_ms: Some(60_000),
            concurrency: Some(64),
        };
        assert_eq!(Limits::resolve(&greedy, &defaults, &caps), caps);
    }
}
