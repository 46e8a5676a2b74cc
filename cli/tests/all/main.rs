//! Tests of the `hearth` binary from the outside, in one test binary: a real
//! `hearth serve` on loopback driven over HTTP and through the CLI, killed with
//! SIGKILL, installing from a real registry server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod attacks;
mod cluster;
mod crash;
mod demo;
mod dev;
mod logs;
#[path = "../../../nats/tests/support/cluster.rs"]
mod nats_cluster;
mod registry;
mod serve;
mod server;
#[path = "../../../host/tests/all/support/mod.rs"]
mod support;
mod versions;

/// Held by the tests that load the machine for a long time (clusters of processes,
/// the crash run, a whole plugin build): on two cores, two of them at once would each
/// measure the other's load and stretch every timing past its bound.
pub fn one_heavy_test_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HEAVY.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
