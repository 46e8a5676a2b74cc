//! Event delivery throughput and latency, side by side in one run:
//! ingest → log → consumer → a do-nothing plugin, with group commit on and off.
//!
//! `cargo bench -p hearth-host --bench delivery` (unset RUST_BACKTRACE first).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark binary

use hearth_host::households::{Device, Grant};
use hearth_host::{Host, HostConfig};
use std::time::{Duration, Instant};

const EVENTS: usize = 100_000;
const BATCH: usize = 100;
const SENDERS: usize = 4;
const LATENCY_SAMPLES: usize = 2_000;
const PLUGIN: &str = "bench.hearth.noop";

async fn host(dir: &std::path::Path, durable: bool) -> Host {
    let host = Host::open(dir, HostConfig { durable, ..HostConfig::default() }).await.unwrap();
    host.add_household("h").unwrap();
    for sender in 0..SENDERS {
        let device = Device {
            id: format!("device-{sender}"),
            household: "h".into(),
            kind: "sensor".into(),
            model: "bench".into(),
            region: "DE".into(),
        };
        host.add_device(device).unwrap();
    }
    let manifest = std::fs::read_to_string(hearth_test_components::NOOP_PLUGIN_MANIFEST).unwrap().parse().unwrap();
    host.install(manifest, hearth_test_components::read(hearth_test_components::NOOP_PLUGIN)).await.unwrap();
    host.grant("h", PLUGIN, &Grant { device_kinds: ["sensor".into()].into(), ..Grant::default() }).await.unwrap();
    host
}

fn batch(sender: usize, first: usize) -> Vec<u8> {
    let events: Vec<_> = (first..first + BATCH)
        .map(|n| serde_json::json!({"id": format!("s{sender}-{n}"), "topic": "ext.bench.tick", "body": {"n": n}}))
        .collect();
    serde_json::to_vec(&events).unwrap()
}

async fn delivered(host: &Host) -> u64 {
    host.status(PLUGIN).unwrap().delivered
}

/// (ingest acknowledged, delivered) in events per second.
async fn throughput(durable: bool) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path(), durable).await;
    let started = Instant::now();
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let host = host.clone();
            tokio::spawn(async move {
                for first in (0..EVENTS / SENDERS).step_by(BATCH) {
                    host.ingest(&format!("device-{sender}"), &batch(sender, first)).await.unwrap();
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    let ingested = started.elapsed();
    while delivered(&host).await < EVENTS as u64 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let delivered = started.elapsed();
    host.shutdown().await.unwrap();
    (EVENTS as f64 / ingested.as_secs_f64(), EVENTS as f64 / delivered.as_secs_f64())
}

/// Ingest-to-delivery latency of single events on an idle host: (p50, p99).
async fn latency() -> (Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path(), true).await;
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    for n in 0..LATENCY_SAMPLES {
        let event = serde_json::json!({"id": format!("lat-{n}"), "topic": "ext.bench.tick", "body": {}});
        let started = Instant::now();
        host.ingest("device-0", &serde_json::to_vec(&event).unwrap()).await.unwrap();
        while delivered(&host).await <= n as u64 {
            tokio::task::yield_now().await;
        }
        samples.push(started.elapsed());
    }
    host.shutdown().await.unwrap();
    samples.sort_unstable();
    (samples[samples.len() / 2], samples[samples.len() * 99 / 100])
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return; // `cargo test --benches` asks for a list; nothing to run then
    }
    let (ingest_durable, delivered_durable) = throughput(true).await;
    let (ingest_fast, delivered_fast) = throughput(false).await;
    let (p50, p99) = latency().await;
    println!("delivery: {EVENTS} events in batches of {BATCH} from {SENDERS} devices to one do-nothing plugin");
    println!("  durable (group commit)   ingest {ingest_durable:>9.0} ev/s   delivered {delivered_durable:>9.0} ev/s");
    println!("  durability off           ingest {ingest_fast:>9.0} ev/s   delivered {delivered_fast:>9.0} ev/s");
    println!("  durable / off delivered ratio    {:.2}", delivered_durable / delivered_fast);
    println!("ingest-to-delivery latency, single events, idle host: p50 {p50:?}  p99 {p99:?}");
}
