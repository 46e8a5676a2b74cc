//! The one wasmtime [`Engine`] of a host process and its epoch ticker.
//!
//! Every plugin store shares this engine. Epoch interruption drives both halves of
//! a call's deadline: each tick makes a running plugin yield to tokio (so a busy
//! plugin never holds a runtime thread) and traps it once its deadline has passed.

use crate::HostError;
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances. Deadlines are enforced to within one tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Sizes of the engine-wide instance pool.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Plugin instances that may be live at once across all plugins.
    pub max_instances: u32,
    /// The largest linear memory any plugin may grow to (the operator's cap).
    pub max_memory_bytes: usize,
    /// Linear memory of all plugin instances together; growth past it is refused
    /// (the plugin sees an allocation failure).
    pub max_total_memory_bytes: usize,
    /// Use the pooling allocator (falls back to on-demand if it cannot reserve its
    /// memory); `false` allocates every instance on demand.
    pub pooling: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_instances: 1_000,
            max_memory_bytes: 256 << 20,
            max_total_memory_bytes: 8 << 30,
            pooling: true,
        }
    }
}

/// Which instance allocator the engine ended up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocator {
    /// Instances from a pre-reserved pool (the default).
    Pooling,
    /// The pooling allocator's virtual memory reservation failed (e.g. a low
    /// `ulimit -v`); instances are allocated on demand instead.
    OnDemand,
}

/// Creates the engine, preferring the pooling allocator, and starts its ticker.
pub fn new_engine(config: &EngineConfig) -> Result<(Engine, Allocator), HostError> {
    let pooled = if config.pooling {
        Engine::new(base_config().allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(config))))
    } else {
        Err(wasmtime::Error::msg("the pooling allocator is switched off"))
    };
    let (engine, allocator) = match pooled {
        Ok(engine) => (engine, Allocator::Pooling),
        Err(error) => {
            tracing::warn!(%error, "pooling allocator unavailable, allocating instances on demand");
            let engine = Engine::new(&base_config()).map_err(|error| HostError::Engine(format!("{error:#}")))?;
            (engine, Allocator::OnDemand)
        }
    };
    start_ticker(&engine).map_err(|error| HostError::Engine(format!("cannot start the epoch ticker: {error}")))?;
    Ok((engine, allocator))
}

fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config
}

/// Bytes of each memory and table slot kept resident between instances.
const KEEP_RESIDENT_BYTES: usize = 64 << 10;

/// Core instances the pool holds per component instance slot. A Rust wasip2 component
/// instantiates a handful of core modules (the program plus lowering shims); a guest
/// built for a language runtime many more (componentize-py: 14 modules, plus shims).
/// Sized for the latter in every slot, so such guests never run the pool out of core
/// instances before it runs out of slots: a core instance slot is only a count (its
/// state is allocated when used), unlike memories and tables, which reserve address
/// space per slot.
const CORE_INSTANCES_PER_SLOT: u32 = 20;

fn pooling_config(config: &EngineConfig) -> PoolingAllocationConfig {
    let instances = config.max_instances;
    let mut pool = PoolingAllocationConfig::default();
    // One memory and a few tables per guest, in Rust and in the language runtimes.
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(CORE_INSTANCES_PER_SLOT))
        .total_memories(instances.saturating_mul(2))
        .total_tables(instances.saturating_mul(4))
        .total_stacks(instances)
        .max_memory_size(config.max_memory_bytes)
        // Per instance, as the store's limiter counts them: a component cannot take
        // many pool slots by bringing many core modules.
        .max_memories_per_component(crate::runtime::limits::MAX_MEMORIES_PER_INSTANCE as u32)
        .max_tables_per_component(crate::runtime::limits::MAX_TABLES_PER_INSTANCE as u32)
        .max_core_instances_per_component(crate::runtime::limits::MAX_CORE_INSTANCES_PER_INSTANCE as u32)
        // A slot is reused for the next instance: zeroing a plugin's first pages with
        // memset is cheaper than returning them with madvise and faulting them back in.
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES);
    pool
}

/// Advances the epoch every [`EPOCH_TICK`] until the engine is dropped.
fn start_ticker(engine: &Engine) -> std::io::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("hearth-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .map(drop)
}
