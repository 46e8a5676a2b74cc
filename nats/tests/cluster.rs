//! The JetStream backend against a real 3-node nats-server cluster on loopback (R3,
//! each node with its own store directory), started and stopped by the test the way
//! nats.rs's own tests do: the storage conformance suite, and a node killed meanwhile.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use hearth_host::storage::Storage;
use std::time::{Duration, Instant};
use support::cluster::{connect, start_cluster};

/// One 3-node cluster at a time: each test starts its own, and on a 2-core machine
/// several electing leaders at once made one wait past its minute.
static ONE_CLUSTER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_passes_the_storage_conformance_suite_on_three_nodes() {
    let _alone = ONE_CLUSTER_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut nodes, servers) = start_cluster(dir.path());
    let urls = servers.clone();
    let storage = tokio::task::spawn_blocking(move || connect(servers)).await.unwrap();
    let client = async_nats::connect(urls.as_slice()).await.unwrap();
    hearth_host::storage::conformance::check(&storage, 1).await.unwrap();

    // A bucket written in the first key layout (a scoped key as one token, `k` + hex of
    // all its bytes), as a host of that version left it: opening it moves the scoped
    // keys to their scope's token, and nothing is lost.
    let jetstream = async_nats::jetstream::new(client);
    let old = jetstream
        .create_key_value(async_nats::jetstream::kv::Config {
            bucket: "first-layout".into(),
            history: 1,
            num_replicas: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    let written = [(&b"plugin\0household/a"[..], &b"one"[..]), (b"plugin\0household/b", b"two"), (b"plain", b"three")];
    for (key, value) in written {
        // Stored form: a leading 0 marks a value kept in the entry itself.
        old.put(format!("k{}", hex::encode(key)), [&[0u8][..], value].concat().into()).await.unwrap();
    }
    let opened = storage.bucket("first-layout").unwrap();
    for (key, value) in written {
        assert_eq!(opened.get(key).unwrap().map(|entry| entry.value).as_deref(), Some(value), "{key:?}");
    }
    assert_eq!(opened.keys(b"plugin\0").unwrap(), [&b"plugin\0household/a"[..], b"plugin\0household/b"]);
    assert_eq!(opened.keys(b"").unwrap().len(), 3);
    let raw: Vec<String> = futures::TryStreamExt::try_collect(old.keys().await.unwrap()).await.unwrap();
    assert!(!raw.iter().any(|key| key.starts_with("k706c7567696e00")), "old keys left behind: {raw:?}");

    // A bucket the cluster can never hold (five replicas on three nodes) is refused
    // with the server's reason at once, not retried as though the cluster were settling.
    let (refused, took) = tokio::task::spawn_blocking(move || {
        let storage = hearth_nats::NatsStorage::connect(&hearth_nats::NatsConfig { servers: urls, replicas: 5 })?;
        let started = Instant::now();
        let refused = storage.bucket("five-replicas").map(|_| ()).unwrap_err();
        Ok::<_, hearth_host::storage::StorageError>((refused.to_string(), started.elapsed()))
    })
    .await
    .unwrap()
    .unwrap();
    assert!(refused.contains("no suitable peers"), "{refused}");
    assert!(took < Duration::from_secs(10), "a bucket that cannot be placed was retried for {took:?}");

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
    let _alone = ONE_CLUSTER_AT_A_TIME.lock().await;
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
    let mut random = fastrand::Rng::with_seed(0x5eed);
    let events: Vec<StoredEvent> = (0..400)
        .map(|n| {
            let device = format!("device-{}", random.u64(..23));
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

/// Erasure from the outside: each read right after a purge starts new readers, which
/// JetStream may place on a replica that has not applied the purge yet; none of them
/// may hand out an erased event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_replica_hands_out_an_erased_households_events() {
    let _alone = ONE_CLUSTER_AT_A_TIME.lock().await;
    use hearth_host::events::log::{EventLog, StoredEvent};
    let dir = tempfile::tempdir().unwrap();
    let (_nodes, servers) = start_cluster(dir.path());
    let storage = tokio::task::spawn_blocking(move || connect(servers)).await.unwrap();
    let log = storage.event_log(&hearth_nats::LogConfig { stream: "erasure".into(), ..Default::default() }).unwrap();
    let mut random = fastrand::Rng::with_seed(0x5eed);
    for round in 0..30 {
        let erased = format!("household-{round}");
        let events: Vec<StoredEvent> = (0..40)
            .map(|n| {
                let household = if random.bool() { erased.clone() } else { format!("other-{round}") };
                let mut event = StoredEvent::consent_revoked(household, "p".into(), false).unwrap();
                event.id = format!("e{n}");
                event.device = Some(format!("device-{round}-{}", random.u64(..11)));
                event
            })
            .collect();
        let expected = events.iter().filter(|event| event.household == erased).count() as u64;
        log.append(events).await.unwrap();
        assert_eq!(log.erase_household(&erased).unwrap(), expected, "round {round}");
        for partition in 0..log.partitions() {
            let read = log.read_partition(partition, 0, 10_000).unwrap();
            let found = read.iter().filter(|(_, event)| event.household == erased).count();
            assert_eq!(found, 0, "round {round}, partition {partition}: {found} erased events read");
        }
    }
}

/// A device's order from the outside: one device sends batches through a host while
/// the events stream's leader is killed mid-batch (its last proposals may be lost while
/// later ones reach the new leader); a batch that fails is sent again through another
/// host, as a device would. The log must hold the device's events in the order sent
/// (repeats of earlier ones aside): no event stored before one sent ahead of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_keeps_its_order_when_the_streams_leader_dies_mid_batch() {
    let _alone = ONE_CLUSTER_AT_A_TIME.lock().await;
    use hearth_host::events::log::{EventLog, StoredEvent, partition_of};
    let dir = tempfile::tempdir().unwrap();
    let (nodes, servers) = start_cluster(dir.path());
    let config = hearth_nats::LogConfig { stream: "ordered".into(), ..Default::default() };
    // Two hosts' connections (a log lives as long as its storage).
    let (mut storages, mut logs) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        let servers = servers.clone();
        let storage = tokio::task::spawn_blocking(move || connect(servers)).await.unwrap();
        logs.push(storage.event_log(&config).unwrap());
        storages.push(storage);
    }
    let client = async_nats::connect(servers.as_slice()).await.unwrap();
    let mut stream = async_nats::jetstream::new(client).get_stream("ordered").await.unwrap();
    let leader = stream.info().await.unwrap().cluster.as_ref().and_then(|cluster| cluster.leader.clone()).unwrap();
    let leader: usize = leader.trim_start_matches('n').parse().unwrap();
    let event = |n: usize| {
        let mut event = StoredEvent::consent_revoked("h".into(), "p".into(), false).unwrap();
        event.id = format!("e{n}");
        event.device = Some("device".into());
        event
    };
    const BATCH: usize = 200;
    const BATCHES: usize = 60;
    let mut nodes = Some(nodes);
    let mut killer = None;
    let mut failed = 0;
    for batch in 0..BATCHES {
        if batch == BATCHES / 3 {
            // Killed while this batch is being published.
            let mut doomed = nodes.take().unwrap();
            killer = Some(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(2));
                drop(doomed.remove(leader));
                doomed
            }));
        }
        let events: Vec<StoredEvent> = (batch * BATCH..(batch + 1) * BATCH).map(event).collect();
        if logs[0].append(events.clone()).await.is_err() {
            failed += 1;
            until_answered_async(&*logs[1], events).await;
        }
    }
    let _nodes = killer.unwrap().join().unwrap();
    let partition = partition_of(&event(0), logs[1].partitions());
    let mut read = Vec::new();
    let mut after = 0;
    loop {
        let batch = until_answered("a read", || logs[1].read_partition(partition, after, 1000)).await;
        let Some(&(last, _)) = batch.last() else { break };
        read.extend(batch.iter().map(|(_, event)| event.id[1..].parse::<usize>().unwrap()));
        after = last;
    }
    let mut next = 0;
    for n in &read {
        assert!(*n <= next, "event {n} was stored before event {next} ({failed} batches sent again)");
        next = next.max(n + 1);
    }
    assert_eq!(next, BATCH * BATCHES, "events missing");
    eprintln!("{} events read, {failed} batches sent again", read.len());
}

/// Appends `events` until the log takes them (the cluster may be electing leaders).
async fn until_answered_async(
    log: &dyn hearth_host::events::log::EventLog,
    events: Vec<hearth_host::events::log::StoredEvent>,
) {
    let started = Instant::now();
    loop {
        match log.append(events.clone()).await {
            Ok(_) => return,
            Err(error) if started.elapsed() < Duration::from_secs(30) => {
                eprintln!("resending a batch: {error}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("a batch was never taken: {error}"),
        }
    }
}
