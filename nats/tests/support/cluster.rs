//! Real nats-server processes for tests: a 3-node JetStream cluster on loopback ports,
//! each node with its own store directory, killed when dropped (the way nats.rs's own
//! test harness starts servers). Shared by the cluster tests of several crates.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use hearth_host::storage::Storage as _;
use hearth_nats::{NatsConfig, NatsStorage};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
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
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A node; killed when dropped.
pub struct Node(pub Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Three JetStream nodes routed to each other; returns them and their client URLs.
pub fn start_cluster(dir: &std::path::Path) -> (Vec<Node>, Vec<String>) {
    let clients: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let route_urls: Vec<String> = routes.iter().map(|port| format!("nats://127.0.0.1:{port}")).collect();
    let nodes = (0..3)
        .map(|n| {
            let store = dir.join(format!("n{n}"));
            std::fs::create_dir_all(&store).unwrap();
            let child = Command::new(nats_server())
                .args(["-a", "127.0.0.1", "-p", &clients[n].to_string(), "-js", "-sd"])
                .arg(&store)
                .args(["--server_name", &format!("n{n}"), "--cluster_name", "hearth"])
                .args(["--cluster", &route_urls[n], "--routes", &route_urls.join(",")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|error| {
                    panic!("starting {}: {error} (run `cargo xtask setup`)", nats_server().display())
                });
            Node(child)
        })
        .collect();
    (nodes, clients.iter().map(|port| format!("nats://127.0.0.1:{port}")).collect())
}

/// Connects once the cluster has elected its JetStream leader (an R3 bucket can be made).
pub fn connect(servers: Vec<String>) -> NatsStorage {
    let started = Instant::now();
    loop {
        let attempt = NatsStorage::connect(&NatsConfig { servers: servers.clone(), replicas: 3 })
            .and_then(|storage| storage.bucket("ready").map(|_| storage));
        match attempt {
            Ok(storage) => return storage,
            Err(error) if started.elapsed() < Duration::from_secs(60) => {
                eprintln!("waiting for the cluster: {error}");
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(error) => panic!("the cluster did not come up: {error}"),
        }
    }
}
