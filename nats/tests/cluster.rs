//! The JetStream backend against a real 3-node nats-server cluster on loopback (R3,
//! each node with its own store directory), started and stopped by the test the way
//! nats.rs's own tests do: the storage conformance suite, and a node killed meanwhile.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use hearth_host::storage::Storage;
use hearth_nats::{NatsConfig, NatsStorage};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `nats-server`: `HEARTH_NATS_SERVER`, else what `cargo xtask setup` installed, else PATH.
fn nats_server() -> PathBuf {
    if let Ok(path) = std::env::var("HEARTH_NATS_SERVER") {
        return path.into();
    }
    let installed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools/bin/nats-server");
    if installed.exists() { installed } else { "nats-server".into() }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A node; killed when dropped.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Three JetStream nodes routed to each other; returns them and their client URLs.
fn start_cluster(dir: &std::path::Path) -> (Vec<Node>, Vec<String>) {
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
fn connect(servers: Vec<String>) -> NatsStorage {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_passes_the_storage_conformance_suite_on_three_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut nodes, servers) = start_cluster(dir.path());
    let storage = tokio::task::spawn_blocking(move || connect(servers)).await.unwrap();
    hearth_host::storage::conformance::check(&storage, 1).await.unwrap();

    // One node of three dies: R3 buckets keep a quorum, nothing written is lost, and
    // writes go on.
    let bucket = storage.bucket("survivor").unwrap();
    for n in 0..50u32 {
        bucket.put(format!("key-{n}").as_bytes(), &n.to_be_bytes()).unwrap();
    }
    drop(nodes.remove(2));
    let started = Instant::now();
    let written = loop {
        match bucket.put(b"after", b"ok") {
            Ok(revision) => break revision,
            Err(error) if started.elapsed() < Duration::from_secs(30) => {
                eprintln!("writing after the kill: {error}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("no write after a node died: {error}"),
        }
    };
    assert!(written > 50);
    assert_eq!(bucket.keys(b"key-").unwrap().len(), 50, "a write acknowledged before the kill was lost");
    assert_eq!(bucket.get(b"key-7").unwrap().unwrap().value, 7u32.to_be_bytes());
}
