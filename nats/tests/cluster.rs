//! The JetStream backend against a real 3-node nats-server cluster on loopback (R3,
//! each node with its own store directory), started and stopped by the test the way
//! nats.rs's own tests do: the storage conformance suite, and a node killed meanwhile.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use hearth_host::storage::Storage;
use std::time::{Duration, Instant};
use support::cluster::{connect, start_cluster};

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
    // While the streams elect new leaders a request may time out (each is bounded at
    // 2 s); the cluster must answer again within 30 s, with nothing lost.
    let written = until_answered("a write after the kill", || bucket.put(b"after", b"ok")).await;
    assert!(written > 50);
    let keys = until_answered("listing keys after the kill", || bucket.keys(b"key-")).await;
    assert_eq!(keys.len(), 50, "a write acknowledged before the kill was lost");
    let seven = until_answered("a read after the kill", || bucket.get(b"key-7")).await;
    assert_eq!(seven.unwrap().value, 7u32.to_be_bytes());
}

/// Retries `request` every 200 ms until it answers; fails the test after 30 s.
async fn until_answered<T, E: std::fmt::Display>(what: &str, mut request: impl FnMut() -> Result<T, E>) -> T {
    let started = Instant::now();
    loop {
        match request() {
            Ok(answer) => return answer,
            Err(error) if started.elapsed() < Duration::from_secs(30) => {
                eprintln!("{what}: {error}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("no answer to {what} within 30 s: {error}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_stream_passes_the_log_conformance_suite_and_partitions_by_device() {
    use hearth_host::events::log::{EventLog, StoredEvent, partition_of};
    let dir = tempfile::tempdir().unwrap();
    let (_nodes, servers) = start_cluster(dir.path());
    let storage = tokio::task::spawn_blocking(move || connect(servers)).await.unwrap();
    for seed in [1, 2, 0x5eed] {
        let config = hearth_nats::LogConfig { stream: format!("events-{seed}"), ..Default::default() };
        let log = storage.event_log(&config).unwrap();
        hearth_host::events::log::conformance::check(&*log, seed).await.unwrap();
    }

    // Every event is read from exactly one partition, each device's from the same one,
    // in the order appended.
    let log =
        storage.event_log(&hearth_nats::LogConfig { stream: "partitioned".into(), ..Default::default() }).unwrap();
    let mut random = 0x5eed_u64;
    let events: Vec<StoredEvent> = (0..400)
        .map(|n| {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            let device = format!("device-{}", random % 23);
            let mut event =
                hearth_host::events::log::StoredEvent::consent_revoked("h".into(), "p".into(), false).unwrap();
            event.id = format!("e{n}");
            event.device = Some(device);
            event
        })
        .collect();
    log.append(events.clone()).await.unwrap();
    let mut read = Vec::new();
    for partition in 0..log.partitions() {
        let mut after = 0;
        loop {
            let batch = log.read_partition(partition, after, 37).unwrap();
            let Some(&(last, _)) = batch.last() else { break };
            for (seq, event) in &batch {
                assert_eq!(partition_of(event, log.partitions()), partition, "event {seq} in the wrong partition");
                read.push((*seq, event.id.clone()));
            }
            after = last;
        }
    }
    read.sort();
    let expected: Vec<(u64, String)> =
        events.iter().enumerate().map(|(n, event)| (n as u64 + 1, event.id.clone())).collect();
    assert_eq!(read, expected);
}
