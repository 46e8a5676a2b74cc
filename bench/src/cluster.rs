//! The clustered backend side by side: 1, 2 and 3 hosts on one 3-node NATS JetStream
//! cluster (R3, real `nats-server` processes), each run on a fresh cluster; events
//! per second, CPU per event (the hosts' and the NATS nodes'), and ingest-to-delivery
//! latency clustered against embedded. Everything shares this machine's cores, so
//! more hosts add no cores: the ratio shows the cost of sharing, not a speed-up.

use super::{NOOP, add_sensors, noop_component, noop_manifest};
use hearth_host::cluster::ClusterConfig;
use hearth_host::households::Grant;
use hearth_host::{Backend, Host, HostConfig};
use hearth_nats::LogConfig;
use std::time::{Duration, Instant};

#[path = "../../nats/tests/support/cluster.rs"]
mod nats_cluster;

const DEVICES: usize = 8;
const EVENTS: usize = 20_000;
const RECORDER: &str = "test.hearth.recorder";

/// CPU time (user + system) of a process so far, from /proc (Linux).
fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after ") ".
    let fields: Vec<&str> = stat.rsplit_once(") ").map_or(vec![], |(_, rest)| rest.split(' ').collect());
    let ticks: u64 = [11, 12].iter().filter_map(|&index| fields.get(index)?.parse::<u64>().ok()).sum();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

/// `hosts` hosts on a fresh cluster, the noop and recorder plugins installed through
/// the first, the household's devices granted; returns once every host runs them.
async fn cluster_of(hosts: usize, dir: &std::path::Path) -> anyhow::Result<(Vec<nats_cluster::Node>, Vec<Host>)> {
    let (nodes, servers) = nats_cluster::start_cluster(dir);
    let mut opened = Vec::new();
    for n in 0..hosts {
        let servers = servers.clone();
        let storage = tokio::task::spawn_blocking(move || nats_cluster::connect(servers)).await?;
        let log = storage.event_log(&LogConfig::default()).map_err(|error| anyhow::anyhow!("{error}"))?;
        let backend = Backend {
            storage: std::sync::Arc::new(storage),
            log,
            cluster: Some(ClusterConfig::new(format!("bench-{n}"))),
        };
        opened.push(Host::open_on(backend, HostConfig::default()).await?);
    }
    set_up(&opened[0]).await?;
    for host in &opened {
        while host.status(NOOP).is_none() || host.status(RECORDER).is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Every partition has its host.
    let units = 2 * 2 * 8;
    while opened[0].cluster()?.1.iter().map(|member| member.units).sum::<usize>() < units {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((nodes, opened))
}

async fn set_up(host: &Host) -> anyhow::Result<()> {
    add_sensors(host, DEVICES)?;
    host.install(noop_manifest(NOOP)?, noop_component()).await?;
    let recorder: hearth_package::Manifest =
        std::fs::read_to_string(hearth_test_components::RECORDER_PLUGIN_MANIFEST)?.parse()?;
    host.install(recorder, hearth_test_components::read(hearth_test_components::RECORDER_PLUGIN)).await?;
    let grant = Grant { device_kinds: ["sensor".into()].into(), ..Grant::default() };
    host.grant("h", NOOP, &grant).await?;
    host.grant("h", RECORDER, &grant).await?;
    Ok(())
}

/// EVENTS to the noop plugin from 8 devices, spread over the hosts: (events/s, CPU per event).
async fn throughput(hosts: &[Host], nodes: &[nats_cluster::Node]) -> anyhow::Result<(f64, Duration)> {
    let pids: Vec<u32> = nodes.iter().map(|node| node.pid()).chain([std::process::id()]).collect();
    let cpu_before: Duration = pids.iter().map(|pid| cpu_of(*pid)).sum();
    let started = Instant::now();
    let mut senders = Vec::new();
    for device in 0..DEVICES {
        let hosts = hosts.to_vec();
        senders.push(tokio::spawn(async move {
            for (batch, first) in (0..EVENTS / DEVICES).step_by(100).enumerate() {
                let events: Vec<_> = (first..first + 100)
                    .map(|n| serde_json::json!({"id": format!("t{device}-{n}"), "topic": "ext.bench.tick", "body": {}}))
                    .collect();
                let host = &hosts[(device + batch) % hosts.len()];
                host.ingest(&format!("device-{device}"), &serde_json::to_vec(&events)?).await?;
            }
            anyhow::Ok(())
        }));
    }
    for sender in senders {
        sender.await??;
    }
    loop {
        let delivered: u64 = hosts.iter().filter_map(|host| host.status(NOOP)).map(|status| status.delivered).sum();
        if delivered >= EVENTS as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    let cpu: Duration = pids.iter().map(|pid| cpu_of(*pid)).sum::<Duration>() - cpu_before;
    Ok((EVENTS as f64 / elapsed.as_secs_f64(), cpu / EVENTS as u32))
}

/// Single events sent one after another through `hosts` in turn: time until the
/// recorder (on whichever host delivers) has recorded each; (p50, p99).
async fn latency(hosts: &[Host]) -> anyhow::Result<(Duration, Duration)> {
    let mut times = Vec::new();
    for n in 0..200 {
        let id = format!("lat-{n}");
        let event = serde_json::json!([{"id": id, "topic": "ext.test.latency", "body": {}}]);
        let host = &hosts[n % hosts.len()];
        let started = Instant::now();
        host.ingest(&format!("device-{}", n % DEVICES), &serde_json::to_vec(&event)?).await?;
        while host.kv_get(RECORDER, &format!("seen/{id}"))?.is_none() {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        times.push(started.elapsed());
    }
    times.sort();
    Ok((times[times.len() / 2], times[times.len() * 99 / 100]))
}

/// Listing one scope's keys (one device's pending commands, one household's
/// notifications) in a bucket of many scopes on NATS: the server sends that scope's
/// keys alone, against reading every key of the bucket and keeping the scope's here
/// (how it was done before). (keys in the bucket, filtered, every key.)
async fn scoped_listing(dir: &std::path::Path) -> anyhow::Result<(usize, Duration, Duration)> {
    use hearth_host::storage::{Storage as _, scoped_key};
    const SCOPES: usize = 1_000;
    const PER_SCOPE: usize = 5;
    const ROUNDS: u32 = 50;
    let (_nodes, servers) = nats_cluster::start_cluster(dir);
    let urls = servers.clone();
    let storage = tokio::task::spawn_blocking(move || nats_cluster::connect(servers)).await?;
    let bucket = storage.bucket("listing")?;
    let writer = bucket.clone();
    tokio::task::spawn_blocking(move || {
        for scope in 0..SCOPES {
            for key in 0..PER_SCOPE {
                writer.put(&scoped_key(&format!("device-{scope}"), &format!("command-{key}")), b"x")?;
            }
        }
        anyhow::Ok(())
    })
    .await??;
    let scope = |round: u32| scoped_key(&format!("device-{}", round as usize * 7 % SCOPES), "");
    let started = Instant::now();
    for round in 0..ROUNDS {
        let keys = tokio::task::block_in_place(|| bucket.keys(&scope(round)))?;
        anyhow::ensure!(keys.len() == PER_SCOPE, "listed {} keys of one scope", keys.len());
    }
    let filtered = started.elapsed() / ROUNDS;
    let client = async_nats::connect(urls.as_slice()).await?;
    let store = async_nats::jetstream::new(client).get_key_value("listing").await?;
    let started = Instant::now();
    for round in 0..ROUNDS {
        let scope = scope(round);
        let wanted = format!("s{}.", hex::encode(&scope[..scope.len() - 1]));
        let mut listed = store.keys().await?;
        let mut found = 0;
        while let Some(key) = futures::StreamExt::next(&mut listed).await {
            found += usize::from(key?.starts_with(&wanted));
        }
        anyhow::ensure!(found == PER_SCOPE, "found {found} keys of one scope among all");
    }
    Ok((SCOPES * PER_SCOPE, filtered, started.elapsed() / ROUNDS))
}

/// The section: throughput and CPU for 1, 2, 3 hosts, latency clustered vs embedded.
pub async fn cluster() -> anyhow::Result<()> {
    println!("cluster: {EVENTS} events from {DEVICES} devices to the noop plugin, 3 NATS nodes (R3) on this machine");
    let mut single = None;
    let mut clustered_latency = None;
    for hosts in 1..=3 {
        let dir = tempfile::tempdir()?;
        let (nodes, opened) = cluster_of(hosts, dir.path()).await?;
        let (rate, cpu) = throughput(&opened, &nodes).await?;
        let base = *single.get_or_insert(rate);
        println!(
            "  {hosts} host(s): {rate:>8.0} events/s ({:.2}× one host), {cpu:?} CPU per event (hosts + NATS)",
            rate / base
        );
        if hosts == 3 {
            clustered_latency = Some(latency(&opened).await?);
        }
        for host in opened {
            host.shutdown().await?;
        }
        drop(nodes);
    }
    let dir = tempfile::tempdir()?;
    let (keys, filtered, every_key) = scoped_listing(dir.path()).await?;
    println!(
        "  one scope's 5 keys in a bucket of {keys}: listed by the server {filtered:?}, by reading every key \
         {every_key:?} ({:.0}×)",
        every_key.as_secs_f64() / filtered.as_secs_f64()
    );
    let dir = tempfile::tempdir()?;
    let embedded = Host::open(dir.path(), HostConfig::default()).await?;
    set_up(&embedded).await?;
    let (p50, p99) = latency(std::slice::from_ref(&embedded)).await?;
    embedded.shutdown().await?;
    if let Some((cluster_p50, cluster_p99)) = clustered_latency {
        println!(
            "  ingest to delivery (recorder, one event at a time): clustered p50 {cluster_p50:?} p99 {cluster_p99:?}, \
             embedded p50 {p50:?} p99 {p99:?} ({:.1}× / {:.1}×)",
            cluster_p50.as_secs_f64() / p50.as_secs_f64(),
            cluster_p99.as_secs_f64() / p99.as_secs_f64()
        );
    }
    Ok(())
}
