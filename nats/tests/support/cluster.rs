//! Real nats-server processes for tests: a 3-node JetStream cluster on loopback ports,
//! each node with its own store directory, killed when dropped (the way nats.rs's own
//! test harness starts servers). Shared by the cluster tests of several crates.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use hearth_nats::{NatsConfig, NatsStorage};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// `nats-server`: `HEARTH_NATS_SERVER`, else what `cargo xtask setup` installed, else PATH.
pub fn nats_server() -> PathBuf {
    if let Ok(path) = std::env::var("HEARTH_NATS_SERVER") {
        return path.into();
    }
    let installed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools/bin/nats-server");
    if installed.exists() { installed } else { "nats-server".into() }
}

pub fn free_port() -> u16 {
    hearth_nats::local::free_port().unwrap()
}

/// A node; killed when dropped.
pub type Node = hearth_nats::local::LocalNode;

/// Three JetStream nodes routed to each other; returns them and their client URLs.
pub fn start_cluster(dir: &std::path::Path) -> (Vec<Node>, Vec<String>) {
    hearth_nats::local::start(&nats_server(), dir, 3)
        .unwrap_or_else(|error| panic!("{error} (run `cargo xtask setup`)"))
}

/// Connects once the servers listen. Everything after that is the storage's own
/// business: the cluster may not have elected its JetStream leader yet, and opening
/// buckets and streams must wait for it (so the tests exercise that wait too).
pub fn connect(servers: Vec<String>) -> NatsStorage {
    let started = Instant::now();
    loop {
        match NatsStorage::connect(&NatsConfig { servers: servers.clone(), replicas: 3 }) {
            Ok(storage) => return storage,
            Err(error) if started.elapsed() < Duration::from_secs(30) => {
                eprintln!("waiting for the servers to listen: {error}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(error) => panic!("the servers did not start: {error}"),
        }
    }
}
