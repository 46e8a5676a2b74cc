//! Per-plugin resource limits: the plugin's request, capped by the operator.

use crate::HostError;
use hearth_package::RequestedLimits;
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
    /// Refuses an operator's limits above this host's caps, naming the cap: a value
    /// the host would not honour is an error, never quietly lowered.
    pub fn check_within(requested: &RequestedLimits, caps: &Limits) -> Result<(), HostError> {
        let above = |name: &str, asked: u64, cap: u64, unit: &str| {
            Err(HostError::InvalidInput(format!("{name} {asked} is above this host's cap of {cap}{unit}")))
        };
        let checks = [
            ("memory_mb", requested.memory_mb, (caps.memory_bytes >> 20) as u64, " MiB"),
            ("timeout_ms", requested.timeout_ms, caps.event_timeout.as_millis() as u64, " ms"),
            ("service_timeout_ms", requested.service_timeout_ms, caps.service_timeout.as_millis() as u64, " ms"),
            ("concurrency", requested.concurrency, caps.concurrency as u64, " instances"),
        ];
        for (name, asked, cap, unit) in checks {
            if let Some(asked) = asked
                && u64::from(asked) > cap
            {
                return above(name, u64::from(asked), cap, unit);
            }
        }
        Ok(())
    }

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

/// Linear memory committed by every plugin instance of a host together, against the
/// operator's ceiling: one plugin may use at most its memory limit × its concurrency,
/// and all together at most this.
#[derive(Debug)]
pub struct HostMemory {
    ceiling_bytes: usize,
    used_bytes: std::sync::atomic::AtomicUsize,
}

impl HostMemory {
    /// A budget of `ceiling_bytes` for all instances together.
    pub fn new(ceiling_bytes: usize) -> Self {
        HostMemory { ceiling_bytes, used_bytes: std::sync::atomic::AtomicUsize::new(0) }
    }

    /// Bytes of linear memory plugin instances hold now.
    pub fn used_bytes(&self) -> usize {
        self.used_bytes.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The ceiling, in bytes.
    pub fn ceiling_bytes(&self) -> usize {
        self.ceiling_bytes
    }

    fn reserve(&self, bytes: usize) -> bool {
        use std::sync::atomic::Ordering;
        self.used_bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.ceiling_bytes)
            })
            .is_ok()
    }

    fn release(&self, bytes: usize) {
        self.used_bytes.fetch_sub(bytes, std::sync::atomic::Ordering::AcqRel);
    }
}

/// Memories, tables and core instances one plugin instance may have. A Rust wasip2
/// component has one memory and a few tables and core instances; the bytes limit
/// below is what holds, these only keep a component from taking many pool slots.
pub const MAX_MEMORIES_PER_INSTANCE: usize = 8;
/// Most tables one component instance may define.
pub const MAX_TABLES_PER_INSTANCE: usize = 32;
/// Most core instances one component instance may create.
pub const MAX_CORE_INSTANCES_PER_INSTANCE: usize = 64;

/// Caps the linear memory of one plugin instance: every memory of every core module
/// in its store counts together, and against the host-wide ceiling. Records that the
/// cap was hit, so an allocation failure that ends in a trap is reported as memory
/// exhaustion.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit_bytes: usize,
    /// Bytes of all this store's memories (each memory's initial size and growth).
    used_bytes: usize,
    /// Growth granted by the last `memory_growing`, undone if the growth then fails.
    pending_bytes: usize,
    /// Table elements of all this store's tables.
    table_elements: usize,
    host: std::sync::Arc<HostMemory>,
    pub(crate) exceeded: bool,
}

impl MemoryLimiter {
    /// A limiter for one store: `limit_bytes` of its own, within the host's ceiling.
    pub fn new(limit_bytes: usize, host: std::sync::Arc<HostMemory>) -> Self {
        MemoryLimiter { limit_bytes, used_bytes: 0, pending_bytes: 0, table_elements: 0, host, exceeded: false }
    }

    /// The store's limit, in bytes.
    pub fn limit_bytes(&self) -> usize {
        self.limit_bytes
    }

    /// Bytes of linear memory this instance holds.
    pub fn used_bytes(&self) -> usize {
        self.used_bytes
    }
}

impl Drop for MemoryLimiter {
    fn drop(&mut self) {
        // The store and its memories go with the limiter.
        self.host.release(self.used_bytes);
    }
}

/// Table elements one instance may hold across its tables (tables hold function refs).
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.pending_bytes = 0;
        let growth = desired.saturating_sub(current);
        let within = self.used_bytes.checked_add(growth).is_some_and(|total| total <= self.limit_bytes)
            && maximum.is_none_or(|max| desired <= max);
        let allowed = within && self.host.reserve(growth);
        self.exceeded |= !allowed;
        if allowed {
            self.used_bytes += growth;
            self.pending_bytes = growth;
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.used_bytes -= self.pending_bytes;
        self.host.release(self.pending_bytes);
        self.pending_bytes = 0;
        Ok(())
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.table_elements + desired.saturating_sub(current);
        let allowed = total <= MAX_TABLE_ELEMENTS && maximum.is_none_or(|max| desired <= max);
        if allowed {
            self.table_elements = total;
        }
        Ok(allowed)
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES_PER_INSTANCE
    }

    fn tables(&self) -> usize {
        MAX_TABLES_PER_INSTANCE
    }

    fn instances(&self) -> usize {
        MAX_CORE_INSTANCES_PER_INSTANCE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter as _;

    /// Memories count together per instance and against the host: six memories of
    /// 16 MiB do not fit a 64 MiB instance, and two instances share the ceiling.
    #[test]
    fn memories_count_together_per_instance_and_per_host() {
        let host = std::sync::Arc::new(HostMemory::new(100 << 20));
        let mut first = MemoryLimiter::new(64 << 20, host.clone());
        let granted = (0..6).filter(|_| first.memory_growing(0, 16 << 20, None).unwrap()).count();
        assert_eq!(granted, 4, "64 MiB hold four memories of 16 MiB");
        assert!(first.exceeded);
        assert_eq!(host.used_bytes(), 64 << 20);
        let mut second = MemoryLimiter::new(64 << 20, host.clone());
        assert!(second.memory_growing(0, 32 << 20, None).unwrap());
        second.memory_grow_failed(wasmtime::Error::msg("the OS said no")).unwrap();
        assert_eq!(host.used_bytes(), 64 << 20, "a growth that failed after all is given back");
        assert!(second.memory_growing(0, 32 << 20, None).unwrap());
        assert!(!second.memory_growing(32 << 20, 48 << 20, None).unwrap(), "the host ceiling (100 MiB) is reached");
        drop(first);
        assert_eq!(host.used_bytes(), 32 << 20, "a dropped instance gives its memory back");
        drop(second);
        assert_eq!(host.used_bytes(), 0);
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

    /// An operator's value is refused exactly when it is above its cap, whichever
    /// limit it is (randomized with a fixed seed).
    #[test]
    fn operator_limits_above_a_cap_are_refused_naming_it() {
        let caps = Limits {
            memory_bytes: 128 << 20,
            event_timeout: Duration::from_millis(1_000),
            service_timeout: Duration::from_millis(2_000),
            concurrency: 4,
        };
        let mut seed = 0x5eed_u64;
        let mut next = |range: u32| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as u32 % range
        };
        for _ in 0..2_000 {
            let requested = RequestedLimits {
                memory_mb: (next(2) == 0).then(|| 1 + next(256)),
                timeout_ms: (next(2) == 0).then(|| 1 + next(2_000)),
                service_timeout_ms: (next(2) == 0).then(|| 1 + next(4_000)),
                concurrency: (next(2) == 0).then(|| 1 + next(8)),
            };
            let above = requested.memory_mb.is_some_and(|mb| mb > 128)
                || requested.timeout_ms.is_some_and(|ms| ms > 1_000)
                || requested.service_timeout_ms.is_some_and(|ms| ms > 2_000)
                || requested.concurrency.is_some_and(|n| n > 4);
            match Limits::check_within(&requested, &caps) {
                Ok(()) => assert!(!above, "{requested:?} passed"),
                Err(HostError::InvalidInput(message)) => {
                    assert!(above, "{requested:?} refused: {message}");
                    assert!(message.contains("is above this host's cap of"), "{message}");
                }
                Err(other) => panic!("{other}"),
            }
        }
    }
}
