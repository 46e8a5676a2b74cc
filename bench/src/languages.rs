//! The same plugin in Rust, TypeScript and Python, side by side: the `hearth plugin
//! new` template of each language (a fridge-door counter: one kv read and one kv write
//! per event, a `stats` service reading one key), built with `hearth plugin build`
//! (the toolchains `cargo xtask setup` installs), then installed into one host.
//!
//! Figures per language: component size, build time, compile at install, cold start
//! (a fresh instance: instantiate + init), an event (`on-event` on one instance), a
//! service call (through the plugin's worker pool), and the instance's linear memory
//! after start and after the events.

use crate::first_test::PartnerCli;
use anyhow::{Context as _, bail};
use hearth_host::bindings::{Caller, DoorState, Event, EventBody, ServiceRequest};
use hearth_host::{Host, HostConfig};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const LANGUAGES: [(&str, &str); 3] = [("rust", "Rust"), ("ts", "TypeScript"), ("python", "Python")];
const STARTS: usize = 20;
const EVENTS: usize = 2_000;
const CALLS: usize = 1_000;

struct Figures {
    name: &'static str,
    size: usize,
    build: Duration,
    install: Duration,
    cold_start: Duration,
    event: Duration,
    call: Duration,
    memory_started: usize,
    memory_after: usize,
}

fn door_event(n: usize) -> Event {
    Event {
        id: format!("e{n}"),
        topic: "appliance.fridge.door".into(),
        time_ms: 0,
        household: format!("u-bench-{}", n % 8),
        device: Some(format!("d-bench-{}", n % 8)),
        body: EventBody::FridgeDoor(if n.is_multiple_of(2) { DoorState::Open } else { DoorState::Closed }),
    }
}

/// `hearth plugin new` + `hearth plugin build`: the component, how long the build
/// took, and the manifest.
fn build(hearth: &PartnerCli, scratch: &Path, lang: &str) -> anyhow::Result<(Vec<u8>, Duration, String)> {
    let name = format!("door-counter-{lang}");
    let dir = scratch.join(&name);
    let path = dir.display().to_string();
    hearth.run(&["plugin", "new", &name, "--lang", lang, "--publisher", "bench", "--dir", &path])?;
    // The toolchain's own set-up (npm packages) is not the build.
    if lang == "ts" {
        let status =
            Command::new("npm").args(["install", "--silent", "--no-audit", "--no-fund"]).current_dir(&dir).status()?;
        if !status.success() {
            bail!("npm install in {path} failed");
        }
    }
    let started = Instant::now();
    let built = hearth.run(&["plugin", "build", "--path", &path])?;
    let elapsed = started.elapsed();
    let component = built.lines().last().context("hearth plugin build printed no path")?.trim().to_owned();
    Ok((std::fs::read(&component)?, elapsed, std::fs::read_to_string(dir.join("hearth.toml"))?))
}

async fn measure(name: &'static str, component: Vec<u8>, build: Duration, manifest: &str) -> anyhow::Result<Figures> {
    let dir = tempfile::tempdir()?;
    let host = Host::open(dir.path(), HostConfig::default()).await?;
    let manifest: hearth_package::Manifest = manifest.parse()?;
    let id = manifest.plugin.id.clone();
    let service = manifest.services.provides.first().context("the template provides a service")?.clone();
    let size = component.len();
    let started = Instant::now();
    host.install(manifest, component).await?;
    let install = started.elapsed();

    let mut cold_start = Duration::ZERO;
    for _ in 0..STARTS {
        let started = Instant::now();
        drop(host.direct(&id).await?);
        cold_start += started.elapsed();
    }
    let mut direct = host.direct(&id).await?;
    let memory_started = direct.memory_bytes();
    let events: Vec<Event> = (0..EVENTS).map(door_event).collect();
    for event in &events[..100] {
        direct.on_event(event).await?;
    }
    let started = Instant::now();
    for event in &events {
        if !direct.on_event(event).await? {
            bail!("{name}: the plugin refused an event");
        }
    }
    let event = started.elapsed() / EVENTS as u32;
    let memory_after = direct.memory_bytes();
    drop(direct);

    let (service, operation) = service.split_once('.').context("service.operation")?;
    let request = || ServiceRequest {
        service: service.to_owned(),
        operation: operation.to_owned(),
        caller: Caller::Operator,
        household: Some("u-bench-0".into()),
        input: b"{}".to_vec(),
    };
    let answer = host.call_plugin(&id, request()).await?;
    let opens: serde_json::Value = serde_json::from_slice(&answer.output)?;
    if opens["fridge_opens"].as_u64().unwrap_or(0) == 0 {
        bail!("{name}: the stats call answered {opens}, no openings counted");
    }
    let started = Instant::now();
    for _ in 0..CALLS {
        host.call_plugin(&id, request()).await?;
    }
    let call = started.elapsed() / CALLS as u32;
    host.shutdown().await?;
    Ok(Figures {
        name,
        size,
        build,
        install,
        cold_start: cold_start / STARTS as u32,
        event,
        call,
        memory_started,
        memory_after,
    })
}

pub async fn languages() -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let hearth = PartnerCli::new(&scratch.path().join("cache"))?;
    let mut figures = Vec::new();
    for (lang, name) in LANGUAGES {
        eprintln!("languages: building the {name} template …");
        let (component, build_time, manifest) = build(&hearth, scratch.path(), lang)?;
        figures.push(measure(name, component, build_time, &manifest).await?);
    }
    let rust = &figures[0];
    let times = |value: f64, base: f64| format!("{:.1}x", value / base);
    let mib = |bytes: usize| bytes as f64 / (1024.0 * 1024.0);
    println!("## languages: the same plugin (kv read + write per event) per SDK; ratios to Rust");
    println!(
        "{:<11} {:>16} {:>14} {:>16} {:>18} {:>18} {:>18} {:>22}",
        "",
        "component",
        "build",
        "compile+install",
        "cold start",
        "an event",
        "a service call",
        "memory: start / after"
    );
    for f in &figures {
        println!(
            "{:<11} {:>9.2} MiB {:>5} {:>8.1} s {:>4} {:>9.2} s {:>5} {:>11.2?} {:>5} {:>11.2?} {:>5} {:>11.2?} {:>5} {:>8.1} / {:.1} MiB",
            f.name,
            mib(f.size),
            times(f.size as f64, rust.size as f64),
            f.build.as_secs_f64(),
            times(f.build.as_secs_f64(), rust.build.as_secs_f64()),
            f.install.as_secs_f64(),
            times(f.install.as_secs_f64(), rust.install.as_secs_f64()),
            f.cold_start,
            times(f.cold_start.as_secs_f64(), rust.cold_start.as_secs_f64()),
            f.event,
            times(f.event.as_secs_f64(), rust.event.as_secs_f64()),
            f.call,
            times(f.call.as_secs_f64(), rust.call.as_secs_f64()),
            mib(f.memory_started),
            mib(f.memory_after),
        );
    }
    println!(
        "(build: hearth plugin build, a clean Rust target directory against warm npm and pip caches; {EVENTS} events on one instance, {CALLS} calls through the worker pool, cold start the mean of {STARTS})"
    );
    Ok(())
}
