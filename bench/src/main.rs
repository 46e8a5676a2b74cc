//! `hearth-bench`: Hearth's figures side by side in one run, as ratios (this machine is
//! shared and noisy: absolute times drift, ratios hold). Run with `cargo xtask bench`
//! (RUST_BACKTRACE unset). Sections: the wasmtime floor against Hearth's dispatch,
//! cold start, restart with 100 plugins, density with 1,000 plugins (in a child
//! process, so its RSS is its own), HTTP ingest on loopback, the same plugin in Rust,
//! TypeScript and Python, a household's reads in a fleet-sized store, and 1 vs 2 vs 3
//! hosts on a real NATS JetStream cluster.

mod cluster;
mod first_test;
mod household_reads;
mod languages;

use anyhow::{Context as _, bail};
use hearth_host::bindings::{Event, EventBody, OtherEvent};
use hearth_host::households::{Device, Grant};
use hearth_host::{Host, HostConfig};
use hearth_package::Manifest;
use std::time::{Duration, Instant};

const NOOP: &str = "bench.hearth.noop";

fn noop_manifest(id: &str) -> anyhow::Result<Manifest> {
    let mut manifest: Manifest = std::fs::read_to_string(hearth_test_components::NOOP_PLUGIN_MANIFEST)?.parse()?;
    manifest.plugin.id = id.to_owned();
    Ok(manifest)
}

fn noop_component() -> Vec<u8> {
    hearth_test_components::read(hearth_test_components::NOOP_PLUGIN)
}

fn event(n: usize) -> Event {
    Event {
        id: format!("e{n}"),
        topic: "ext.bench.tick".into(),
        time_ms: 0,
        household: "u-bench".into(),
        device: Some("d-bench".into()),
        body: EventBody::Other(OtherEvent { topic: "ext.bench.tick".into(), json: "{\"n\":1}".into() }),
    }
}

/// A host with the noop plugin, one household and `devices` sensors granted to it.
async fn host_with_noop(dir: &std::path::Path, config: HostConfig, devices: usize) -> anyhow::Result<Host> {
    host_with(dir, config, devices, Workload::Noop).await
}

/// What the plugin under measurement does with each event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    /// Nothing (the noop plugin, built against the newest WIT).
    Noop,
    /// Nothing, built against WIT 0.1 (the frozen binary): the older contract's path.
    NoopV0_1,
    /// Reads and writes one kv key per event (the recorder's `ext.test.tally`).
    KvWriter,
}

impl Workload {
    fn plugin(self) -> &'static str {
        match self {
            Workload::Noop | Workload::NoopV0_1 => NOOP,
            Workload::KvWriter => "test.hearth.recorder",
        }
    }

    fn topic(self) -> &'static str {
        match self {
            Workload::Noop | Workload::NoopV0_1 => "ext.bench.tick",
            Workload::KvWriter => "ext.test.tally",
        }
    }

    async fn install(self, host: &Host) -> anyhow::Result<()> {
        use hearth_test_components as built;
        let (manifest, component) = match self {
            Workload::Noop => (noop_manifest(NOOP)?, noop_component()),
            Workload::NoopV0_1 => {
                let mut manifest: Manifest = std::fs::read_to_string(built::V0_1_NOOP_MANIFEST)?.parse()?;
                manifest.plugin.id = NOOP.into();
                (manifest, built::read(built::V0_1_NOOP))
            }
            Workload::KvWriter => (
                std::fs::read_to_string(built::RECORDER_PLUGIN_MANIFEST)?.parse()?,
                built::read(built::RECORDER_PLUGIN),
            ),
        };
        host.install(manifest, component).await?;
        host.grant("h", self.plugin(), &Grant { device_kinds: ["sensor".into()].into(), ..Grant::default() }).await?;
        Ok(())
    }

    /// Event `n` of a device, as the device sends it.
    fn event(self, id: String, n: usize) -> serde_json::Value {
        serde_json::json!({"id": id, "topic": self.topic(), "body": {"n": n}})
    }
}

/// A host with `workload`'s plugin, one household and `devices` sensors granted to it.
async fn host_with(
    dir: &std::path::Path,
    config: HostConfig,
    devices: usize,
    workload: Workload,
) -> anyhow::Result<Host> {
    let host = Host::open(dir, config).await?;
    add_sensors(&host, devices)?;
    workload.install(&host).await?;
    Ok(host)
}

/// Household `h` with `devices` sensors `device-N`.
fn add_sensors(host: &Host, devices: usize) -> anyhow::Result<()> {
    host.add_household("h")?;
    for n in 0..devices {
        let device = Device {
            id: format!("device-{n}"),
            household: "h".into(),
            kind: "sensor".into(),
            model: "bench".into(),
            region: "DE".into(),
        };
        host.add_device(device)?;
    }
    Ok(())
}

fn per_event(elapsed: Duration, events: usize) -> Duration {
    elapsed / events as u32
}

/// Time per `on-event` call on a direct instance of the noop plugin, after a warm-up.
async fn floor(host: &Host, events: &[Event]) -> anyhow::Result<Duration> {
    let mut direct = host.direct(NOOP).await?;
    for event in events.iter().take(1_000) {
        direct.on_event(event).await?;
    }
    let started = Instant::now();
    for event in events {
        direct.on_event(event).await?;
    }
    Ok(per_event(started.elapsed(), events.len()))
}

/// Time per event of `on-events` calls with `batch` events each on a direct instance.
async fn batch_floor(host: &Host, events: &[Event], batch: usize) -> anyhow::Result<Duration> {
    let mut direct = host.direct(NOOP).await?;
    for chunk in events[..1_000].chunks(batch) {
        direct.on_events(chunk).await?;
    }
    let started = Instant::now();
    for chunk in events.chunks(batch) {
        let accepted = direct.on_events(chunk).await?;
        if accepted != chunk.len() {
            bail!("the noop plugin refused {} of {} events", chunk.len() - accepted, chunk.len());
        }
    }
    Ok(per_event(started.elapsed(), events.len()))
}

/// The floor (one store, direct calls), the worker path without the log, and the
/// whole dispatch path with durability off and on; time per event.
async fn dispatch() -> anyhow::Result<()> {
    const CALLS: usize = 100_000;
    let dir = tempfile::tempdir()?;
    let host = host_with_noop(dir.path(), HostConfig::default(), 4).await?;
    let events: Vec<Event> = (0..CALLS).map(event).collect();
    let floor = floor(&host, &events).await?;
    let batch_floor = batch_floor(&host, &events, 100).await?;

    // Called from a task, as the API's handlers call it (not from the main thread,
    // which would wake a parked runtime thread for every call).
    let worker = {
        let (host, events) = (host.clone(), events[..CALLS / 2].to_vec());
        tokio::spawn(async move {
            let started = Instant::now();
            for event in events.iter() {
                host.deliver(NOOP, event.clone()).await?;
            }
            anyhow::Ok(per_event(started.elapsed(), events.len()))
        })
        .await??
    };
    host.shutdown().await?;

    let (ingest_off, delivered_off) = throughput(false, Workload::Noop).await?;
    let (ingest_on, delivered_on) = throughput(true, Workload::Noop).await?;
    let (_, kv_on) = throughput(true, Workload::KvWriter).await?;
    let drained = drain(Workload::Noop).await?;
    let per = |events_per_second: f64| Duration::from_secs_f64(1.0 / events_per_second);
    println!("## dispatch: one do-nothing plugin (per event; ratio to the floor)");
    println!("floor: wasmtime component call on one store        {:>10?}  1.00x", floor);
    println!(
        "on-events, 100 per call, on one store               {:>10?}  {:.2}x",
        batch_floor,
        ratio(batch_floor, floor)
    );
    println!("worker: Host::deliver (channel + worker, no log)    {:>10?}  {:.2}x", worker, ratio(worker, floor));
    let (off, on) = (per(delivered_off), per(delivered_on));
    println!("dispatch, durability off (log, consumer, ack)      {:>10?}  {:.2}x", off, ratio(off, floor));
    println!("dispatch, durable (group commit + fsync)           {:>10?}  {:.2}x", on, ratio(on, floor));
    let drain = per(drained);
    println!("delivery alone: a backlog drained (log, consumer, ack) {:>10?}  {:.2}x", drain, ratio(drain, floor));
    println!(
        "throughput: durable {delivered_on:.0} ev/s delivered ({ingest_on:.0} ingested); off {delivered_off:.0} ev/s ({ingest_off:.0})"
    );
    println!(
        "a plugin writing one kv key per event, durable: {kv_on:.0} ev/s delivered, {:.0} % of the noop plugin's",
        kv_on / delivered_on * 100.0
    );
    Ok(())
}

/// The dispatch path of a plugin built against WIT 0.1 (the frozen noop): the floor
/// (one `on-event` per call, values converted to 0.1's) and delivery alone. Compare
/// with `dispatch` of a build from before 0.2 (BENCHMARKS.md says how).
async fn dispatch_v0_1() -> anyhow::Result<()> {
    const CALLS: usize = 100_000;
    let dir = tempfile::tempdir()?;
    let host = host_with(dir.path(), HostConfig::default(), 4, Workload::NoopV0_1).await?;
    let events: Vec<Event> = (0..CALLS).map(event).collect();
    let floor = floor(&host, &events).await?;
    host.shutdown().await?;
    let drained = drain(Workload::NoopV0_1).await?;
    let drain = Duration::from_secs_f64(1.0 / drained);
    println!("## a plugin built against WIT 0.1 (per event)");
    println!("floor: wasmtime component call on one store        {floor:>10?}");
    println!("delivery alone: a backlog drained (log, consumer, ack) {drain:>10?}  {:.2}x", ratio(drain, floor));
    Ok(())
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// 100,000 events from 4 devices in batches of 100: (ingested, delivered) events/s.
async fn throughput(durable: bool, workload: Workload) -> anyhow::Result<(f64, f64)> {
    const EVENTS: usize = 100_000;
    const SENDERS: usize = 4;
    const BATCH: usize = 100;
    let dir = tempfile::tempdir()?;
    let host = host_with(dir.path(), HostConfig { durable, ..HostConfig::default() }, SENDERS, workload).await?;
    let started = Instant::now();
    let mut senders = Vec::new();
    for sender in 0..SENDERS {
        let host = host.clone();
        senders.push(tokio::spawn(async move {
            for first in (0..EVENTS / SENDERS).step_by(BATCH) {
                let batch: Vec<_> =
                    (first..first + BATCH).map(|n| workload.event(format!("s{sender}-{n}"), n)).collect();
                host.ingest(&format!("device-{sender}"), &serde_json::to_vec(&batch)?).await?;
            }
            anyhow::Ok(())
        }));
    }
    for sender in senders {
        sender.await??;
    }
    let ingested = started.elapsed();
    until_delivered(&host, workload.plugin(), EVENTS).await;
    let delivered = started.elapsed();
    host.shutdown().await?;
    Ok((EVENTS as f64 / ingested.as_secs_f64(), EVENTS as f64 / delivered.as_secs_f64()))
}

/// Waits until `plugin` has had `events` events delivered.
async fn until_delivered(host: &Host, plugin: &str, events: usize) {
    while host.status(plugin).map_or(0, |status| status.delivered) < events as u64 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Delivery alone, without ingest competing for the cores: 100,000 events wait in the
/// log while the plugin is disabled, then it is enabled and drains them; events/s.
async fn drain(workload: Workload) -> anyhow::Result<f64> {
    const EVENTS: usize = 100_000;
    const DEVICES: usize = 4;
    const BATCH: usize = 1_000;
    let dir = tempfile::tempdir()?;
    let config = HostConfig { durable: false, ..HostConfig::default() };
    let host = host_with(dir.path(), config, DEVICES, workload).await?;
    host.disable(workload.plugin()).await?;
    for first in (0..EVENTS).step_by(BATCH) {
        let batch: Vec<_> = (first..first + BATCH).map(|n| workload.event(format!("b{n}"), n)).collect();
        host.ingest(&format!("device-{}", first / BATCH % DEVICES), &serde_json::to_vec(&batch)?).await?;
    }
    let started = Instant::now();
    host.enable(workload.plugin()).await?;
    until_delivered(&host, workload.plugin(), EVENTS).await;
    let drained = started.elapsed();
    host.shutdown().await?;
    Ok(EVENTS as f64 / drained.as_secs_f64())
}

/// Instantiation plus `init` of a fresh instance, pooling vs on-demand allocation.
async fn cold_start() -> anyhow::Result<()> {
    const STARTS: usize = 2_000;
    let mut results = Vec::new();
    for pooling in [true, false] {
        let dir = tempfile::tempdir()?;
        let mut config = HostConfig::default();
        config.engine.pooling = pooling;
        let host = host_with_noop(dir.path(), config, 0).await?;
        for _ in 0..100 {
            drop(host.direct(NOOP).await?);
        }
        let mut phases = hearth_host::runtime::direct::StartPhases::default();
        let mut dropping = Duration::ZERO;
        let started = Instant::now();
        for _ in 0..STARTS {
            let direct = host.direct(NOOP).await?;
            let each = direct.start_phases();
            phases.store += each.store;
            phases.instantiate += each.instantiate;
            phases.init += each.init;
            let dropped = Instant::now();
            drop(direct);
            dropping += dropped.elapsed();
        }
        results.push((per_event(started.elapsed(), STARTS), phases, dropping));
        host.shutdown().await?;
    }
    println!("## cold start: instantiate + init a fresh instance (mean of {STARTS})");
    let mean = |total: Duration| per_event(total, STARTS);
    for (name, (total, phases, dropping)) in ["pooling allocator  ", "on-demand allocator"].iter().zip(&results) {
        println!(
            "{name}  {:>10?}  ({:.2}x pooling): store set-up {:?}, wasmtime instantiate {:?}, init {:?}, drop {:?}",
            total,
            ratio(*total, results[0].0),
            mean(phases.store),
            mean(phases.instantiate),
            mean(phases.init),
            mean(*dropping),
        );
    }
    Ok(())
}

/// Process start to ready with 100 installed plugins (the artifact cache warm).
async fn restart() -> anyhow::Result<()> {
    const PLUGINS: usize = 100;
    let dir = tempfile::tempdir()?;
    let host = Host::open(dir.path(), HostConfig::default()).await?;
    for n in 0..PLUGINS {
        host.install(noop_manifest(&format!("bench.copy.p{n:04}"))?, noop_component()).await?;
    }
    host.shutdown().await?;
    let started = Instant::now();
    let host = Host::open(dir.path(), HostConfig::default()).await?;
    let ready = started.elapsed();
    let stats = host.stats();
    if stats.plugins != PLUGINS {
        bail!("{} of {PLUGINS} plugins came back", stats.plugins);
    }
    host.shutdown().await?;
    println!("## restart: open the data dir and start {PLUGINS} installed plugins");
    println!("ready in {ready:?} (compiles {}, artifact cache hits {})", stats.compiles, stats.artifact_cache_hits);
    Ok(())
}

/// Resident set size of this process, from /proc.
fn rss_bytes() -> anyhow::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").context("reading /proc/self/statm")?;
    let pages: u64 = statm.split_whitespace().nth(1).context("statm has no rss")?.parse()?;
    Ok(pages * 4096)
}

/// In a child process: RSS with `plugins` copies installed, idle and after one event each.
async fn density_child(plugins: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = HostConfig::default();
    config.engine.max_instances = plugins as u32 + 16;
    let host = Host::open(dir.path(), config).await?;
    let baseline = rss_bytes()?;
    let component = noop_component();
    for n in 0..plugins {
        host.install(noop_manifest(&format!("bench.copy.p{n:04}"))?, component.clone()).await?;
    }
    let idle = rss_bytes()?;
    for n in 0..plugins {
        host.deliver(&format!("bench.copy.p{n:04}"), event(n)).await?;
    }
    let busy = rss_bytes()?;
    println!(
        "{}",
        serde_json::json!({"plugins": plugins, "baseline": baseline, "idle": idle, "after_one_event": busy})
    );
    host.shutdown().await?;
    Ok(())
}

fn density() -> anyhow::Result<()> {
    const PLUGINS: usize = 1_000;
    let output = std::process::Command::new(std::env::current_exe()?)
        .args(["density-child", &PLUGINS.to_string()])
        .output()
        .context("running the density child")?;
    if !output.status.success() {
        bail!("density child failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let figures: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let mib = |name: &str| figures[name].as_u64().unwrap_or(0) as f64 / (1 << 20) as f64;
    println!("## density: {PLUGINS} installed plugins (copies of one, distinct ids), RSS of the process");
    println!(
        "empty host {:.0} MiB; idle {:.0} MiB; after one event each {:.0} MiB",
        mib("baseline"),
        mib("idle"),
        mib("after_one_event")
    );
    println!(
        "per plugin: {:.0} KiB idle, {:.0} KiB with a live instance",
        (mib("idle") - mib("baseline")) * 1024.0 / PLUGINS as f64,
        (mib("after_one_event") - mib("baseline")) * 1024.0 / PLUGINS as f64
    );
    Ok(())
}

/// The HTTP API on loopback, driven by async clients (one keep-alive connection each)
/// in the same process. Durable: every answer waits for its group commit, so
/// single-event throughput grows with the clients sharing each flush. Each run has a
/// host of its own, so that one run's teardown (connections closing, its delivery
/// finishing) does not land in the next.
async fn http_ingest(durable: bool) -> anyhow::Result<()> {
    if durable {
        println!("## HTTP ingest on loopback: keep-alive clients, durable (answered once fsynced)");
    } else {
        println!("## HTTP ingest on loopback, durability off (answered before the flush)");
    }
    let runs =
        [("single events", 1usize, 1000usize, 64), ("single events", 1, 100, 256), ("batches of 100", 100, 100, 8)];
    for (label, per_request, requests, clients) in runs {
        let per_second = http_run(durable, clients, per_request, requests).await?;
        println!(
            "{label:<16} {clients:>3} clients {:>9.0} req/s  {:>9.0} events/s",
            per_second,
            per_second * per_request as f64
        );
    }
    Ok(())
}

/// `clients` devices each sending `requests` requests of `per_request` events to a
/// fresh host over HTTP; requests/s.
async fn http_run(durable: bool, clients: usize, per_request: usize, requests: usize) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let host = host_with_noop(dir.path(), HostConfig { durable, ..HostConfig::default() }, clients).await?;
    let mut state = hearth_server::ApiState::new(host.clone())?;
    state.rate_limit =
        std::sync::Arc::new(hearth_server::RateLimiter::new(hearth_server::RateLimit { per_second: 1e9, burst: 1e9 }));
    let mut tokens: Vec<String> = Vec::with_capacity(clients);
    for n in 0..clients {
        tokens.push(state.tokens.create(hearth_server::auth::Role::Device, &format!("device-{n}")).await?.1);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, hearth_server::app(state)).await });
    let started = Instant::now();
    let handles: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(client, token)| tokio::spawn(send_events(address, token, client, per_request, requests)))
        .collect();
    for handle in handles {
        handle.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    server.abort();
    host.shutdown().await?;
    Ok((clients * requests) as f64 / elapsed)
}

/// One keep-alive HTTP/1.1 connection sending `requests` requests one after another.
async fn send_events(
    address: std::net::SocketAddr,
    token: String,
    client: usize,
    per_request: usize,
    requests: usize,
) -> anyhow::Result<()> {
    let stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    let connection = tokio::spawn(connection);
    let authorization = format!("Bearer {token}");
    let host = address.to_string();
    for request in 0..requests {
        // Written out, not built as JSON values: the load generator shares the two
        // cores with the server, so its own cost is kept small.
        let event = |n| format!(r#"{{"id":"c{client}-{request}-{n}","topic":"ext.bench.tick","body":{{}}}}"#);
        let body = if per_request == 1 {
            event(0)
        } else {
            format!("[{}]", (0..per_request).map(event).collect::<Vec<_>>().join(","))
        };
        let request = hyper::Request::post("/v1/events")
            .header("host", &host)
            .header("authorization", &authorization)
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        http_body_util::BodyExt::collect(response.into_body()).await?;
        if status.as_u16() != 202 {
            bail!("ingest answered {status}");
        }
    }
    drop(sender);
    connection.await??;
    Ok(())
}

/// The same noop plugin written the Extism way (JSON in, JSON out), called through
/// the `extism` host crate, beside Hearth's floor and worker path in the same run.
#[cfg(feature = "extism")]
async fn extism_comparison() -> anyhow::Result<()> {
    const CALLS: usize = 100_000;
    let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("extism-plugin");
    let target_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins");
    let status = std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(&crate_dir)
        .args(["build", "--quiet", "--release", "--target", "wasm32-unknown-unknown", "--target-dir"])
        .arg(&target_dir)
        .status()?;
    if !status.success() {
        bail!("building the Extism plugin failed (rustup target add wasm32-unknown-unknown?)");
    }
    let wasm = std::fs::read(target_dir.join("wasm32-unknown-unknown/release/extism_noop.wasm"))?;
    let mut plugin = extism::Plugin::new(wasm, [], false)?;
    let inputs: Vec<String> = (0..CALLS)
        .map(|n| {
            serde_json::json!({"id": format!("e{n}"), "topic": "ext.bench.tick", "time_ms": 0,
                "household": "u-bench", "device": "d-bench", "body": {"n": 1}})
            .to_string()
        })
        .collect();
    for input in inputs.iter().take(1_000) {
        plugin.call::<&str, &str>("on_event", input)?;
    }
    let started = Instant::now();
    for input in &inputs {
        plugin.call::<&str, &str>("on_event", input)?;
    }
    let extism = per_event(started.elapsed(), CALLS);

    let dir = tempfile::tempdir()?;
    let host = host_with_noop(dir.path(), HostConfig::default(), 0).await?;
    let events: Vec<Event> = (0..CALLS).map(event).collect();
    let floor = floor(&host, &events).await?;
    let batch_floor = batch_floor(&host, &events, 100).await?;
    host.shutdown().await?;
    let delivery = Duration::from_secs_f64(1.0 / drain().await?);
    println!("## Extism: the same do-nothing event plugin, JSON in and out (per event)");
    println!("Hearth floor (typed WIT event, one store)   {:>10?}", floor);
    println!(
        "Extism 1.30 plugin.call (JSON)              {:>10?}  {:.2}x the Hearth floor",
        extism,
        ratio(extism, floor)
    );
    println!(
        "Hearth delivery (log, consumer, run, ack)   {:>10?}  {:.2}x Extism's call",
        delivery,
        ratio(delivery, extism)
    );
    Ok(())
}

/// The allocator of the `hearth` binary, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    if args.first().map(String::as_str) == Some("density-child") {
        let plugins = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1_000);
        return runtime.block_on(density_child(plugins));
    }
    if std::env::var_os("RUST_BACKTRACE").is_some_and(|value| value != "0") {
        eprintln!("warning: RUST_BACKTRACE is set; error paths capture backtraces and slow the host down");
    }
    let only = args.first().cloned().unwrap_or_else(|| "all".into());
    let wants = |section: &str| only == "all" || only == section;
    if wants("dispatch") {
        runtime.block_on(dispatch())?;
    }
    // Delivery alone, for profiling (`dispatch` reports it beside the floor).
    if only == "drain" {
        let per_event = Duration::from_secs_f64(1.0 / runtime.block_on(drain(Workload::Noop))?);
        println!("delivery alone: {per_event:?} per event");
    }
    // Durable ingest and delivery together, for profiling (`dispatch` reports them).
    for (section, workload) in [("throughput", Workload::Noop), ("throughput-kv", Workload::KvWriter)] {
        if only == section {
            let (ingested, delivered) = runtime.block_on(throughput(true, workload))?;
            println!("durable: {delivered:.0} ev/s delivered ({ingested:.0} ingested)");
        }
    }
    if wants("v0.1") {
        runtime.block_on(dispatch_v0_1())?;
    }
    if wants("cold-start") {
        runtime.block_on(cold_start())?;
    }
    if wants("restart") {
        runtime.block_on(restart())?;
    }
    if wants("density") {
        density()?;
    }
    if wants("http") {
        runtime.block_on(http_ingest(true))?;
        runtime.block_on(http_ingest(false))?;
    }
    if wants("first-test") {
        first_test::first_test()?;
    }
    if wants("languages") {
        runtime.block_on(languages::languages())?;
    }
    if wants("household-reads") {
        household_reads::household_reads()?;
    }
    if wants("cluster") {
        runtime.block_on(cluster::cluster())?;
    }
    #[cfg(feature = "extism")]
    if wants("extism") {
        runtime.block_on(extism_comparison())?;
    }
    #[cfg(not(feature = "extism"))]
    if only == "extism" {
        bail!("build with `--features extism` (cargo xtask bench extism does)");
    }
    Ok(())
}
