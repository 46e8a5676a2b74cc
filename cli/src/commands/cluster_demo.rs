//! `hearth demo --cluster`: three `nats-server` nodes (JetStream, R3) and three
//! `hearth serve --nats` hosts on loopback, the example plugins installed through one
//! host, a household's appliances sending through all three; half way one host is
//! SIGKILLed. It shows the cluster before and after, how long the takeover took, and
//! that every plugin caught up with nothing left behind and nothing dead-lettered.

use super::demo::PLUGINS;
use crate::client::Client;
use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use std::io::{BufRead as _, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const OPERATOR: &str = "hth_cluster_demo_operator_token_0123456789";
const HOUSEHOLD: &str = "kim-household";
const DEVICES: &[(&str, &str)] =
    &[("kim-fridge", "fridge"), ("kim-purifier", "water-purifier"), ("kim-aircon", "air-conditioner")];
/// Rounds of appliance events; the second host dies half way.
const ROUNDS: usize = 60;

/// What the cluster demo needs.
#[derive(Debug, Clone)]
pub struct ClusterDemoOptions {
    /// Where the example plugins' components are.
    pub plugins: PathBuf,
    /// The `nats-server` binary.
    pub nats_server: PathBuf,
}

/// A child process, killed (SIGKILL) when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(hearth_nats::local::free_port()?)
}

/// `hearth serve --nats` as a child; returns it once it listens.
fn start_host(id: &str, port: u16, nats: &[String], logs: &Path) -> anyhow::Result<Process> {
    let log = std::fs::File::create(logs.join(format!("{id}.log")))?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--dev-allow-unsigned-packages"])
        .args(["--nats", &nats.join(","), "--nats-replicas", "3", "--host-id", id, "--lease-secs", "3"])
        .env("HEARTH_OPERATOR_TOKEN", OPERATOR)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    if !line.contains("listening") {
        bail!("{id} did not start; see {}", logs.join(format!("{id}.log")).display());
    }
    Ok(Process(child))
}

fn client(port: u16, token: &str) -> Client {
    Client::to(&format!("http://127.0.0.1:{port}"), token)
}

/// Live members and the partitions each delivers.
fn members(port: u16) -> anyhow::Result<Vec<(String, u64)>> {
    let cluster = client(port, OPERATOR).json("GET", "/v1/cluster", Value::Null)?;
    Ok(cluster["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .map(|member| {
                    (member["host"].as_str().unwrap_or("?").to_owned(), member["partitions"].as_u64().unwrap_or(0))
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Waits until `hosts` members deliver all `units` between them; returns how long it took.
fn wait_for_members(port: u16, hosts: usize, units: u64, limit: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        let now = members(port)?;
        if now.len() == hosts && now.iter().map(|(_, held)| held).sum::<u64>() == units {
            return Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            bail!("not within {limit:?}: {now:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn show_members(out: &mut dyn Write, port: u16) -> anyhow::Result<u64> {
    let members = members(port)?;
    let listed: Vec<String> = members.iter().map(|(host, units)| format!("{host} delivers {units}")).collect();
    writeln!(out, "  cluster: {}", listed.join(", "))?;
    Ok(members.iter().map(|(_, units)| units).sum())
}

fn events_of(round: usize) -> Vec<(&'static str, Value)> {
    let fridge = json!({"id": format!("fridge-{round}"), "topic": "appliance.fridge.inventory",
        "body": {"item": "whole milk", "action": "counted", "quantity": {"amount": 900 - 10 * round, "unit": "millilitres"}}});
    let purifier = json!({"id": format!("purifier-{round}"), "topic": "appliance.water-purifier.telemetry",
        "body": {"tds_in_ppm": 310, "tds_out_ppm": 95, "litres_total": 1840 + round,
            "filters": [{"name": "carbon", "condition_percent": 60 - round.min(59), "change_indication": "ok"}]}});
    let air = json!({"id": format!("air-{round}"), "topic": "appliance.air.telemetry",
        "body": {"temperature_centi_celsius": 2400 + round, "humidity_centi_percent": 5000, "air_quality": "good",
            "filter_condition_percent": 80, "cooling_setpoint_centi_celsius": 2200}});
    vec![("kim-fridge", fridge), ("kim-purifier", purifier), ("kim-aircon", air)]
}

/// Runs the demo, writing what happens to `out`.
pub fn run(options: &ClusterDemoOptions, out: &mut dyn Write) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    writeln!(out, "Starting 3 NATS JetStream nodes and 3 Hearth hosts on loopback (logs in {})", dir.path().display())?;
    let (_nodes, nats) = hearth_nats::local::start(&options.nats_server, dir.path(), 3)
        .context("starting nats-server (run `cargo xtask setup`)")?;
    let ports = (0..3).map(|_| free_port()).collect::<anyhow::Result<Vec<u16>>>()?;
    let mut hosts: Vec<Option<Process>> = Vec::new();
    for (n, port) in ports.iter().enumerate() {
        hosts.push(Some(start_host(&format!("host-{}", n + 1), *port, &nats, dir.path())?));
        writeln!(out, "  host-{} on http://127.0.0.1:{port}", n + 1)?;
    }

    // Everything set up through different hosts: it is one shared state.
    let operator = client(ports[0], OPERATOR);
    for (file, manifest) in PLUGINS {
        let component = std::fs::read(options.plugins.join(file))
            .with_context(|| format!("reading {} (run `cargo xtask plugins`)", options.plugins.join(file).display()))?;
        let boundary = "hearth-cluster-demo";
        let mut body = format!("--{boundary}\r\ncontent-disposition: form-data; name=\"manifest\"\r\n\r\n{manifest}\r\n--{boundary}\r\ncontent-disposition: form-data; name=\"component\"; filename=\"p.wasm\"\r\n\r\n").into_bytes();
        body.extend_from_slice(&component);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        operator.call("POST", "/v1/plugins", &format!("multipart/form-data; boundary={boundary}"), body)?;
    }
    writeln!(out, "Installed the 4 example plugins through host-1")?;
    let second = client(ports[1], OPERATOR);
    second.json("POST", "/v1/households", json!({"id": HOUSEHOLD}))?;
    let mut device_tokens = Vec::new();
    for (device, kind) in DEVICES {
        second.json(
            "POST",
            "/v1/devices",
            json!({"id": device, "household": HOUSEHOLD, "kind": kind, "model": "demo", "region": "KR-11"}),
        )?;
        let token = second.json("POST", "/v1/tokens", json!({"role": "device", "scope": device}))?;
        device_tokens.push(token["token"].as_str().unwrap_or_default().to_owned());
    }
    let user = second.json("POST", "/v1/tokens", json!({"role": "user", "scope": HOUSEHOLD}))?;
    let user = client(ports[2], user["token"].as_str().unwrap_or_default());
    for (_, manifest) in PLUGINS {
        let id = manifest.lines().find_map(|line| line.strip_prefix("id = ")).unwrap_or_default().trim_matches('"');
        let grant = json!({"device_kinds": ["fridge", "water-purifier", "air-conditioner"], "devices": []});
        user.json("PUT", &format!("/v1/me/grants/{id}"), grant)?;
    }
    writeln!(out, "Registered {HOUSEHOLD} through host-2, consented through host-3")?;
    // Each subscription of each plugin, plus its host events, in 8 partitions.
    let listed = operator.json("GET", "/v1/plugins", Value::Null)?;
    let units: u64 = listed["plugins"].as_array().map_or(0, |plugins| {
        plugins.iter().map(|plugin| (plugin["subscriptions"].as_array().map_or(0, Vec::len) as u64 + 1) * 8).sum()
    });
    wait_for_members(ports[0], 3, units, Duration::from_secs(90)).context("the hosts did not share the work")?;
    show_members(out, ports[0])?;

    let mut accepted = 0;
    let mut takeover = None;
    for round in 0..ROUNDS {
        if round == ROUNDS / 2 {
            writeln!(out, "Half way: SIGKILL host-2")?;
            drop(hosts[1].take());
            let took = wait_for_members(ports[0], 2, units, Duration::from_secs(60))
                .context("host-2's partitions were not taken over")?;
            takeover = Some(took);
            writeln!(out, "  takeover after {:.1} s", took.as_secs_f64())?;
            show_members(out, ports[0])?;
        }
        for (index, (device, event)) in events_of(round).into_iter().enumerate() {
            let token = &device_tokens[DEVICES.iter().position(|(id, _)| *id == device).unwrap_or(0)];
            // Appliances send to any host; a dead one's requests go to the next.
            let mut refused = None;
            for attempt in 0..3 {
                let host = (round + index + attempt) % 3;
                if hosts[host].is_none() {
                    continue;
                }
                match client(ports[host], token).json("POST", "/v1/events", event.clone()) {
                    Ok(_) => {
                        refused = None;
                        break;
                    }
                    Err(error) => refused = Some(error),
                }
            }
            if let Some(error) = refused {
                return Err(error.context("no live host accepted an event"));
            }
            accepted += 1;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    writeln!(out, "{accepted} appliance events accepted across the hosts")?;

    // Every plugin catches up: no lag left, nothing dead-lettered.
    let caught_up = Instant::now();
    let plugins = loop {
        let listed = operator.json("GET", "/v1/plugins", Value::Null)?;
        let plugins = listed["plugins"].as_array().cloned().unwrap_or_default();
        if plugins.iter().all(|plugin| plugin["status"]["lag"].as_u64() == Some(0))
            || caught_up.elapsed() > Duration::from_secs(120)
        {
            break plugins;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // Delivery counters are each host's own: ask every live host.
    let mut by_host = Vec::new();
    for (n, port) in ports.iter().enumerate() {
        if hosts[n].is_some() {
            by_host.push((n + 1, client(*port, OPERATOR).json("GET", "/v1/plugins", Value::Null)?));
        }
    }
    for plugin in &plugins {
        let id = plugin["id"].as_str().unwrap_or("?");
        let delivered: Vec<String> = by_host
            .iter()
            .map(|(n, listed)| {
                let count = listed["plugins"]
                    .as_array()
                    .and_then(|plugins| plugins.iter().find(|other| other["id"] == id))
                    .and_then(|other| other["status"]["delivered"].as_u64())
                    .unwrap_or(0);
                format!("host-{n} {count}")
            })
            .collect();
        let status = &plugin["status"];
        writeln!(
            out,
            "  {id:<34} lag {}, dead letters {}, delivered by {}",
            status["lag"],
            status["dead_lettered"],
            delivered.join(", ")
        )?;
    }
    let offers = user.json("GET", "/v1/me/offers", Value::Null)?;
    let notifications = user.json("GET", "/v1/me/notifications", Value::Null)?;
    writeln!(
        out,
        "{HOUSEHOLD} has {} notifications and {} offers, whichever host it asks",
        notifications["notifications"].as_array().map_or(0, Vec::len),
        offers["offers"].as_array().map_or(0, Vec::len)
    )?;
    let behind: u64 = plugins.iter().map(|plugin| plugin["status"]["lag"].as_u64().unwrap_or(1)).sum();
    let dead: u64 = plugins.iter().map(|plugin| plugin["status"]["dead_lettered"].as_u64().unwrap_or(0)).sum();
    writeln!(
        out,
        "Takeover {:.1} s; {} events left behind, {dead} dead-lettered",
        takeover.unwrap_or_default().as_secs_f64(),
        behind
    )?;
    if behind > 0 || dead > 0 {
        bail!("the cluster did not deliver everything");
    }
    Ok(())
}
