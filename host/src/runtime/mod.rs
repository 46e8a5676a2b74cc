//! Running plugin components: the engine and its epoch ticker ([`engine`]), component
//! checks and the compiled-artifact cache ([`component`]), resource limits
//! ([`limits`]), the store's data and linker ([`state`]), the task that owns an
//! instance ([`worker`]), the instances serving one plugin ([`pool`]) with their
//! quarantine ([`breaker`]) and counters ([`counters`]), and direct instances for
//! benchmarks ([`direct`]).

pub mod breaker;
pub mod component;
pub mod counters;
pub mod direct;
pub mod engine;
pub mod limits;
pub mod pool;
pub mod state;
pub mod worker;
