//! `hearth plugin`: install, upgrade, roll back, list, enable, disable, remove and
//! grant on a running server; the partner's `new`, `build`, `test`, `pack` and
//! `publish` are in [`super::develop`].

use crate::client::{Client, Connection};
use anyhow::{Context as _, bail};
use clap::Subcommand;
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Install a signed package (operator token): a `.hpkg` file, or `ID@REQ` resolved
    /// in `--registry`. Shows what the plugin requests and asks before installing.
    Install {
        /// A package file, or `ID@REQ` (e.g. `com.example.recipes@^1.2`) with --registry.
        #[arg(required_unless_present = "manifest")]
        source: Option<String>,
        #[arg(long, env = "HEARTH_REGISTRY")]
        registry: Option<String>,
        /// Install without asking.
        #[arg(long)]
        yes: bool,
        /// Development only: upload an unsigned manifest and component (the server
        /// must run with --dev-allow-unsigned-packages).
        #[arg(long, requires = "component", conflicts_with = "source")]
        manifest: Option<PathBuf>,
        #[arg(long, requires = "manifest")]
        component: Option<PathBuf>,
    },
    /// Upgrade an installed plugin to the newest version in --registry matching --to;
    /// its events are handed over without loss (operator token).
    Upgrade {
        id: String,
        #[arg(long, env = "HEARTH_REGISTRY")]
        registry: String,
        #[arg(long, default_value = "*")]
        to: String,
        #[arg(long)]
        yes: bool,
    },
    /// Go back to the version the last upgrade replaced (operator token).
    Rollback { id: String },
    /// Installed plugins with their delivery counters (operator token).
    List,
    /// Start a disabled plugin (operator token).
    Enable { id: String },
    /// Stop a plugin; its events wait in the log (operator token).
    Disable { id: String },
    /// Uninstall a plugin and delete its data (operator token).
    Remove { id: String },
    /// Give a plugin access to this household's devices (household token).
    Grant {
        id: String,
        /// Device kinds, e.g. `fridge,oven`.
        #[arg(long, value_delimiter = ',')]
        kinds: Vec<String>,
        /// Single device ids.
        #[arg(long, value_delimiter = ',')]
        devices: Vec<String>,
        /// Also let the plugin send commands to them.
        #[arg(long)]
        control: bool,
    },
    /// A plugin's recent log lines: its own and the host's about it (traps, timeouts,
    /// denials, dead letters). Operator token, or the publisher's partner token.
    Logs {
        id: String,
        /// Keep printing new lines until interrupted.
        #[arg(long, short)]
        follow: bool,
        /// First set the lowest level of the plugin's own lines that is kept:
        /// trace, debug, info (the default), warn or error.
        #[arg(long)]
        level: Option<String>,
    },
    #[command(flatten)]
    Partner(super::develop::PartnerCommand),
}

/// Runs `hearth plugin`.
pub fn run(connection: &Connection, command: PluginCommand) -> anyhow::Result<()> {
    // The partner's commands work offline, without a server or token.
    if let PluginCommand::Partner(command) = command {
        return super::develop::run(command);
    }
    let client = Client::new(connection)?;
    match command {
        PluginCommand::Install { source, registry, yes, manifest, component } => match (manifest, component) {
            (Some(manifest), Some(component)) => install_unsigned(&client, &manifest, &component)?,
            _ => {
                let source = source.context("name a package file or ID@REQ")?;
                let package = match (source.split_once('@'), registry) {
                    (Some((id, requirement)), Some(registry)) if !std::path::Path::new(&source).exists() => {
                        fetch(&registry, id, requirement)?.package
                    }
                    (Some(_), None) if !std::path::Path::new(&source).exists() => {
                        bail!("{source} names a registry version; pass --registry URL (or HEARTH_REGISTRY)")
                    }
                    _ => std::fs::read(&source).with_context(|| format!("reading {source}"))?,
                };
                install_package(&client, package, yes)?;
            }
        },
        PluginCommand::Upgrade { id, registry, to, yes } => {
            let installed = client.json("GET", &format!("/v1/plugins/{id}"), Value::Null)?;
            let current: semver::Version = installed["version"].as_str().context("no installed version")?.parse()?;
            let resolved = fetch(&registry, &id, &to)?;
            if resolved.version <= current {
                println!("{id} {current} is up to date (the newest matching {to} is {})", resolved.version);
                return Ok(());
            }
            install_package(&client, resolved.package, yes)?;
        }
        PluginCommand::Rollback { id } => {
            let plugin = client.json("POST", &format!("/v1/plugins/{id}/rollback"), Value::Null)?;
            println!("rolled back {id} to {}", plugin["version"].as_str().unwrap_or("?"));
        }
        PluginCommand::Partner(_) => {}
        PluginCommand::Logs { id, follow, level } => super::logs::run(&client, &id, follow, level.as_deref())?,
        PluginCommand::List => {
            let listing = client.json("GET", "/v1/plugins", Value::Null)?;
            println!("{}", plugin_table(&listing));
        }
        PluginCommand::Enable { id } => {
            client.json("POST", &format!("/v1/plugins/{id}/enable"), Value::Null)?;
            println!("enabled {id}");
        }
        PluginCommand::Disable { id } => {
            client.json("POST", &format!("/v1/plugins/{id}/disable"), Value::Null)?;
            println!("disabled {id}");
        }
        PluginCommand::Remove { id } => {
            let answer = client.json("DELETE", &format!("/v1/plugins/{id}"), Value::Null)?;
            println!("removed {id} ({} stored entries deleted)", answer["erased_entries"]);
        }
        PluginCommand::Grant { id, kinds, devices, control } => {
            client.json(
                "PUT",
                &format!("/v1/me/grants/{id}"),
                json!({"device_kinds": kinds, "devices": devices, "control": control}),
            )?;
            println!("granted {id}");
        }
    }
    Ok(())
}

/// Resolves `id@requirement` in the registry and downloads the package.
fn fetch(registry: &str, id: &str, requirement: &str) -> anyhow::Result<hearth_registry_client::Resolved> {
    let requirement: semver::VersionReq =
        requirement.parse().with_context(|| format!("{requirement:?} is not a version requirement"))?;
    let registry = hearth_registry_client::Registry::new(registry);
    eprintln!("resolving {id}@{requirement} in {} …", registry.url());
    let resolved = registry.fetch(id, &requirement)?;
    eprintln!("downloaded {id} {}", resolved.version);
    Ok(resolved)
}

/// Verifies a package on the server, shows what it requests, asks, installs.
fn install_package(client: &Client, package: Vec<u8>, yes: bool) -> anyhow::Result<()> {
    let shown = client.call("POST", "/v1/packages/verify", "application/vnd.hearth.package", package.clone())?;
    eprintln!("{}", describe_request(&shown));
    if !yes && !confirm("install it?")? {
        bail!("not installed (answered no)");
    }
    eprintln!("uploading {} KiB …", package.len().div_ceil(1024));
    let started = std::time::Instant::now();
    let plugin = client.call("POST", "/v1/packages", "application/vnd.hearth.package", package)?;
    eprintln!("verified, compiled and started in {:.1} s", started.elapsed().as_secs_f64());
    let (id, version) = (plugin["id"].as_str().unwrap_or("?"), plugin["version"].as_str().unwrap_or("?"));
    match plugin["upgraded_from"].as_str() {
        Some(from) => println!("upgraded {id} {from} -> {version} (undo: hearth plugin rollback {id})"),
        None => println!("installed {id} {version}"),
    }
    Ok(())
}

/// What a verified package asks for, for the operator to read before installing.
fn describe_request(shown: &Value) -> String {
    let list = |value: &Value| {
        let items: Vec<String> =
            value.as_array().into_iter().flatten().map(|item| item.as_str().unwrap_or("?").to_owned()).collect();
        if items.is_empty() { "-".to_owned() } else { items.join(", ") }
    };
    let capabilities = &shown["capabilities"];
    let mut granted: Vec<String> = ["kv", "notify", "commerce"]
        .iter()
        .filter(|name| capabilities[**name] == true)
        .map(|name| name.to_string())
        .collect();
    granted.extend(
        capabilities["devices"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| format!("device command {}", c.as_str().unwrap_or("?"))),
    );
    granted.extend(
        capabilities["http"].as_array().into_iter().flatten().map(|c| format!("HTTP to {}", c.as_str().unwrap_or("?"))),
    );
    format!(
        "{} {} by {} (signed by key {})\n  {}\n  subscribes to: {}\n  provides: {}\n  calls: {}\n  capabilities: {}{}",
        shown["id"].as_str().unwrap_or("?"),
        shown["version"].as_str().unwrap_or("?"),
        shown["publisher"].as_str().unwrap_or("?"),
        shown["signed_by"].as_str().unwrap_or("none: unsigned"),
        shown["description"].as_str().unwrap_or_default(),
        list(&shown["subscriptions"]),
        list(&shown["provides"]),
        list(&shown["calls"]),
        if granted.is_empty() { "-".to_owned() } else { granted.join(", ") },
        shown["installed_version"].as_str().map(|v| format!("\n  replaces installed version {v}")).unwrap_or_default(),
    ) + &shown["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|warning| format!("\n  warning: {}", warning.as_str().unwrap_or("?")))
        .collect::<String>()
}

fn confirm(question: &str) -> anyhow::Result<bool> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        bail!("stdin is not a terminal to answer {question:?}: pass --yes to go ahead without asking");
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn install_unsigned(client: &Client, manifest: &std::path::Path, component: &std::path::Path) -> anyhow::Result<()> {
    let manifest = std::fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let component = std::fs::read(component).with_context(|| format!("reading {}", component.display()))?;
    let boundary = "hearth-cli-boundary";
    let mut body = format!("--{boundary}\r\ncontent-disposition: form-data; name=\"manifest\"\r\n\r\n{manifest}\r\n--{boundary}\r\ncontent-disposition: form-data; name=\"component\"; filename=\"plugin.wasm\"\r\ncontent-type: application/wasm\r\n\r\n").into_bytes();
    body.extend_from_slice(&component);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    eprintln!("uploading {} KiB (unsigned) …", body.len().div_ceil(1024));
    let plugin = client.call("POST", "/v1/plugins", &format!("multipart/form-data; boundary={boundary}"), body)?;
    println!("installed {} {}", plugin["id"].as_str().unwrap_or("?"), plugin["version"].as_str().unwrap_or("?"));
    Ok(())
}

/// Installed plugins as an aligned table.
pub fn plugin_table(listing: &Value) -> String {
    let mut rows = Vec::new();
    for plugin in listing["plugins"].as_array().into_iter().flatten() {
        let status = &plugin["status"];
        let state = if status["quarantined"] == true { "quarantined" } else { "running" };
        rows.push(vec![
            plugin["id"].as_str().unwrap_or("?").to_owned(),
            plugin["version"].as_str().unwrap_or("?").to_owned(),
            plugin["publisher"].as_str().unwrap_or("?").to_owned(),
            status["delivered"].to_string(),
            status["failed"].to_string(),
            status["dead_lettered"].to_string(),
            state.to_owned(),
        ]);
    }
    for id in listing["disabled"].as_array().into_iter().flatten() {
        let id = id.as_str().unwrap_or("?").to_owned();
        rows.push(vec![id, "-".into(), "-".into(), "-".into(), "-".into(), "-".into(), "disabled".into()]);
    }
    crate::table::table(&["PLUGIN", "VERSION", "PUBLISHER", "DELIVERED", "FAILED", "DEAD", "STATE"], rows.into_iter())
}
