//! `hearth`: the Hearth host's command line.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use hearth_host::bindings::Caller;
use hearth_host::households::{Device, Grant};
use hearth_host::{Host, HostConfig};
use hearth_registry::Manifest;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(name = "hearth", version, about = "Hearth: a plugin host for connected home appliances")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load the recipe plugin into an embedded host, feed it fridge events and print
    /// what `recipes.suggest` answers, with timings.
    Demo {
        /// Data directory (sled database, compiled-artifact cache).
        #[arg(long, default_value = "hearth-data")]
        data: PathBuf,
        /// The recipe-service component (built by `cargo xtask plugins`).
        #[arg(long, default_value = "target/plugins/wasm32-wasip2/release/recipe_service.wasm")]
        plugin: PathBuf,
        /// The plugin's manifest.
        #[arg(long, default_value = "example-plugins/recipe-service/hearth.toml")]
        manifest: PathBuf,
        /// Events to time the event path with.
        #[arg(long, default_value_t = 1000)]
        timed_events: u32,
    },
    /// Ingest events from stdin as one device, delivering them to the installed
    /// plugins. Each line is one event object or an array of events; each line is
    /// answered on stdout once its events are durable. At end of input, waits until
    /// every event is delivered, then exits.
    Ingest {
        #[arg(long, default_value = "hearth-data")]
        data: PathBuf,
        /// The device the events come from (registered to a household).
        #[arg(long)]
        device: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Demo { data, plugin, manifest, timed_events } => demo(&data, &plugin, &manifest, timed_events).await,
        Command::Ingest { data, device } => ingest_stdin(&data, &device).await,
    }
}

async fn ingest_stdin(data: &Path, device: &str) -> anyhow::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let host = Host::open(data, HostConfig::default()).await?;
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        let answer = match host.ingest(device, line.as_bytes()).await {
            Ok(receipts) => serde_json::json!({
                "accepted": receipts.len(),
                "duplicates": receipts.iter().filter(|receipt| receipt.duplicate).count(),
            }),
            Err(error) => serde_json::json!({ "error": error.to_string() }),
        };
        stdout.write_all(format!("{answer}\n").as_bytes()).await?;
        stdout.flush().await?;
    }
    while host.lag()? > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    host.shutdown().await?;
    Ok(())
}

const HOUSEHOLD: &str = "demo-household";
const FRIDGE: &str = "demo-fridge";

async fn demo(data: &Path, plugin: &Path, manifest_path: &Path, timed_events: u32) -> anyhow::Result<()> {
    let manifest: Manifest = std::fs::read_to_string(manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?
        .parse()?;
    let component = std::fs::read(plugin)
        .with_context(|| format!("reading {} (build it with `cargo xtask plugins`)", plugin.display()))?;
    let id = manifest.plugin.id.clone();

    let started = Instant::now();
    let host = Host::open(data, HostConfig::default()).await?;
    let open_time = started.elapsed();
    let installed = host.install(manifest, component).await?;
    let stats = host.stats();
    println!("Hearth demo — data in {}", data.display());
    println!(
        "installed {} {} ({}, {:?} allocator)",
        installed.manifest.plugin.id,
        installed.manifest.plugin.version,
        if stats.compiles > 0 {
            format!("compiled in {}", ms(installed.load_time))
        } else {
            format!("loaded from the artifact cache in {}", ms(installed.load_time))
        },
        stats.allocator,
    );

    let fridge = [
        ("egg", 6, "pieces", Some(12)),
        ("spinach", 150, "grams", Some(1)),
        ("feta", 200, "grams", Some(15)),
        ("tomato", 500, "grams", Some(4)),
        ("onion", 3, "pieces", None),
        ("bell pepper", 2, "pieces", Some(5)),
        ("whole milk", 1000, "millilitres", Some(2)),
        ("butter", 250, "grams", None),
    ];
    host.add_household(HOUSEHOLD)?;
    host.add_device(Device {
        id: FRIDGE.into(),
        household: HOUSEHOLD.into(),
        kind: "fridge".into(),
        model: "demo-fridge".into(),
        region: "DE".into(),
    })?;
    host.grant(HOUSEHOLD, &id, &Grant { device_kinds: ["fridge".into()].into(), ..Grant::default() }).await?;
    println!("\nfridge events for {HOUSEHOLD}:");
    let first_call = Instant::now();
    for (index, (item, amount, unit, best_before)) in fridge.into_iter().enumerate() {
        let event = inventory_json(&format!("demo-{index}"), item, "added", amount, unit, best_before);
        send_and_wait(&host, &id, &event).await?;
        if index == 0 {
            println!("  (first event, ingest to delivery with instantiation and init: {})", ms(first_call.elapsed()));
        }
        let best_before = best_before.map_or(String::new(), |days| format!(", best before in {days} days"));
        println!("  + {amount} {} {item}{best_before}", unit_label(unit));
    }

    let response = host
        .call_service("recipes", "suggest", Caller::Household(HOUSEHOLD.into()), Some(HOUSEHOLD.into()), b"{}".to_vec())
        .await?;
    let answer: Suggestions = serde_json::from_slice(&response.output)?;
    println!("\nrecipes.suggest — ready to cook:");
    for (rank, recipe) in answer.ready.iter().enumerate() {
        let expiring = match recipe.uses_expiring.as_slice() {
            [] => String::new(),
            items => format!(", uses {} before it expires", items.join(" and ")),
        };
        println!("  {}. {} ({} min){expiring}", rank + 1, recipe.name, recipe.minutes);
    }
    println!("nearly there:");
    for recipe in &answer.near_misses {
        let missing: Vec<String> =
            recipe.missing.iter().map(|m| format!("{} {} {}", m.amount, unit_label(&m.unit), m.item)).collect();
        println!("  - {}: missing {}", recipe.name, missing.join(", "));
    }

    // Timings: a durable event (kv write + flush) and a read-only service call.
    let run = hearth_host::clock::now_ms();
    let event_time = time(timed_events, |n| {
        let host = host.clone();
        let id = id.clone();
        async move {
            let event = inventory_json(&format!("timed-{run}-{n}"), "egg", "counted", 6, "pieces", None);
            send_and_wait(&host, &id, &event).await
        }
    })
    .await?;
    let call_time = time(timed_events, |_| {
        let host = host.clone();
        async move {
            host.call_service(
                "recipes",
                "suggest",
                Caller::Household(HOUSEHOLD.into()),
                Some(HOUSEHOLD.into()),
                b"{}".to_vec(),
            )
            .await
        }
    })
    .await?;
    host.shutdown().await?;

    let restarted = Instant::now();
    let host = Host::open(data, HostConfig::default()).await?;
    let restart_time = restarted.elapsed();
    let stats = host.stats();
    host.shutdown().await?;

    println!("\nfigures:");
    println!("  host open (first)            {}", ms(open_time));
    println!("  per event, durable           {} (mean of {timed_events})", us(event_time));
    println!("  per recipes.suggest call     {} (mean of {timed_events})", us(call_time));
    println!(
        "  restart with 1 plugin        {} ({} from artifact cache, {} compiled)",
        ms(restart_time),
        stats.artifact_cache_hits,
        stats.compiles
    );
    Ok(())
}

async fn time<F, Fut, T, E>(count: u32, mut call: F) -> anyhow::Result<Duration>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    anyhow::Error: From<E>,
{
    let started = Instant::now();
    for n in 0..count {
        call(n).await?;
    }
    Ok(started.elapsed() / count.max(1))
}

fn inventory_json(
    id: &str,
    item: &str,
    action: &str,
    amount: u32,
    unit: &str,
    best_before_in_days: Option<i64>,
) -> Vec<u8> {
    let mut body = serde_json::json!({"item": item, "action": action, "quantity": {"amount": amount, "unit": unit}});
    if let Some(days) = best_before_in_days {
        let date = hearth_host::clock::date_in_days(days);
        body["best_before"] = format!("{:04}-{:02}-{:02}", date.year, date.month, date.day).into();
    }
    serde_json::json!({"id": id, "topic": "appliance.fridge.inventory", "body": body}).to_string().into_bytes()
}

/// Ingests one fridge event and waits until the plugin has handled it.
async fn send_and_wait(host: &Host, plugin: &str, event: &[u8]) -> anyhow::Result<()> {
    let before = host.status(plugin).map_or(0, |status| status.delivered);
    let receipts = host.ingest(FRIDGE, event).await?;
    if receipts.iter().all(|receipt| receipt.duplicate) {
        return Ok(());
    }
    while host.status(plugin).map_or(0, |status| status.delivered) <= before {
        tokio::task::yield_now().await;
    }
    Ok(())
}

/// The `recipes.suggest` answer, as far as the demo prints it.
#[derive(Deserialize)]
struct Suggestions {
    ready: Vec<Suggestion>,
    near_misses: Vec<Suggestion>,
}

#[derive(Deserialize)]
struct Suggestion {
    name: String,
    minutes: u32,
    uses_expiring: Vec<String>,
    missing: Vec<Missing>,
}

#[derive(Deserialize)]
struct Missing {
    item: String,
    amount: u32,
    unit: String,
}

fn unit_label(unit: &str) -> &str {
    match unit {
        "pieces" => "x",
        "grams" => "g",
        "millilitres" => "ml",
        other => other,
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

fn us(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}
