//! `hearth dev`: the partner's run loop. In a plugin's directory it builds the plugin,
//! starts an embedded host with the HTTP API, installs the plugin with a sample
//! household, the devices its subscriptions need and the household's consent, prints
//! tokens ready to use, shows the plugin's log lines as they come, and rebuilds and
//! upgrades the plugin (events handed over, none lost) whenever its sources change.
//!
//! `hearth dev send` and `hearth dev call`, from a second terminal, find the running
//! loop through the state file it writes in the plugin's directory.

use super::develop::warn_unmatched;
use crate::client::Client;
use crate::project::{PluginProject, fingerprint};
use anyhow::{Context as _, bail};
use hearth_host::events::catalog;
use hearth_host::households::{Device, Grant};
use hearth_host::plugins::logbook::LogLevel;
use hearth_host::{Host, HostConfig};
use hearth_package::Manifest;
use hearth_server::auth::Role;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The state file `hearth dev` writes in the plugin's directory for the second terminal.
pub const STATE_FILE: &str = ".hearth-dev.json";
/// The household `hearth dev` creates.
pub const HOUSEHOLD: &str = "dev-household";
/// How often the sources are checked for changes.
const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// `hearth dev`'s options and commands.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DevArgs {
    #[command(subcommand)]
    command: Option<DevCommand>,
    /// The plugin crate's directory.
    #[arg(long, default_value = ".", global = true)]
    path: PathBuf,
    /// Keep the host's data here (kept between runs); a fresh temporary directory by
    /// default.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Where the HTTP API listens (port 0: any free port; the state file says which).
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: std::net::SocketAddr,
}

#[derive(Debug, clap::Subcommand)]
enum DevCommand {
    /// Send events to the running `hearth dev`: a catalogue topic (an example event of
    /// it, e.g. `appliance.fridge.door`) or a file of events (a JSON event, an array,
    /// or one per line).
    Send {
        /// A catalogue topic or a file.
        what: String,
        /// The device that sends them; the first sample device of the topic's kind by
        /// default.
        #[arg(long)]
        device: Option<String>,
    },
    /// Call `SERVICE.OPERATION` on the running `hearth dev` as the sample household,
    /// with a JSON input, and print the answer.
    Call {
        /// E.g. `door-counter.stats`.
        operation: String,
        /// The request body.
        #[arg(default_value = "{}")]
        input: String,
    },
}

/// What the running loop tells the second terminal.
#[derive(Debug, Serialize, Deserialize)]
pub struct DevState {
    pub server: String,
    pub plugin: String,
    pub household: String,
    pub operator_token: String,
    pub user_token: String,
    pub devices: Vec<DevDevice>,
}

/// A sample device and its token.
#[derive(Debug, Serialize, Deserialize)]
pub struct DevDevice {
    pub id: String,
    pub kind: String,
    pub token: String,
}

/// Runs `hearth dev` or one of its commands.
pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    match args.command {
        None => up(&args.path, args.data, args.listen).await,
        Some(DevCommand::Send { what, device }) => {
            let path = args.path;
            crate::blocking(move || send(&read_state(&path)?, &what, device.as_deref())).await
        }
        Some(DevCommand::Call { operation, input }) => {
            let path = args.path;
            crate::blocking(move || call(&read_state(&path)?, &operation, &input)).await
        }
    }
}

fn read_state(dir: &Path) -> anyhow::Result<DevState> {
    let file = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("no {} here: start `hearth dev` in the plugin's directory first", file.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// The loop: build, host, install, sample household, tokens, then watch and upgrade.
async fn up(path: &Path, data: Option<PathBuf>, listen: std::net::SocketAddr) -> anyhow::Result<()> {
    let dir = path.to_owned();
    let (plugin, component) = crate::blocking_value(move || build(&dir)).await?;
    let temporary = match data {
        Some(_) => None,
        None => Some(tempfile::tempdir()?),
    };
    let data = data.unwrap_or_else(|| temporary.as_ref().map(|dir| dir.path().to_owned()).unwrap_or_default());
    let mut config = HostConfig { dev_allow_unsigned_packages: true, ..HostConfig::default() };
    // A failing event reaches its dead letter in a moment, not after minutes of backoff.
    config.delivery.backoff_base = Duration::from_millis(10);
    config.delivery.backoff_max = Duration::from_millis(200);
    let host = Host::open(&data, config).await?;
    let state = hearth_server::ApiState::new(host.clone())?;

    let id = plugin.manifest.plugin.id.clone();
    let mut version = next_dev_version(&host, &plugin.manifest);
    install(&host, &plugin.manifest, &version, component).await?;
    host.logbook().set_level(&id, LogLevel::Debug)?;
    let devices = sample_devices(&host, &plugin.manifest).await?;

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen} (is another hearth running? pass --listen)"))?;
    let server = format!("http://{}", listener.local_addr()?);
    let dev_state = DevState {
        server: server.clone(),
        plugin: id.clone(),
        household: HOUSEHOLD.to_owned(),
        operator_token: state.tokens.create(Role::Operator, "").await?.1,
        user_token: state.tokens.create(Role::User, HOUSEHOLD).await?.1,
        devices: {
            let mut tokens = Vec::new();
            for device in &devices {
                let token = state.tokens.create(Role::Device, &device.id).await?.1;
                tokens.push(DevDevice { id: device.id.clone(), kind: device.kind.clone(), token });
            }
            tokens
        },
    };
    let state_file = path.join(STATE_FILE);
    write_state(&state_file, &dev_state)?;
    println!("{}", banner(&dev_state, &version, &plugin.manifest));

    let app = hearth_server::app(state);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let serving = tokio::spawn(async move {
        let mut stopped = stopped;
        axum::serve(listener, app).with_graceful_shutdown(async move { drop(stopped.changed().await) }).await
    });

    let mut seen = fingerprint(&[path]);
    let outcome = loop {
        tokio::select! {
            () = super::serve::shutdown_signal() => break Ok(()),
            () = tokio::time::sleep(WATCH_INTERVAL) => {}
        }
        let now = fingerprint(&[path]);
        if now == seen {
            continue;
        }
        seen = now;
        println!("change seen: rebuilding …");
        let dir = path.to_owned();
        match crate::blocking_value(move || build(&dir)).await {
            Ok((plugin, component)) => {
                version = next_dev_version(&host, &plugin.manifest);
                match install(&host, &plugin.manifest, &version, component).await {
                    Ok(()) => {
                        if let Err(error) = sample_devices(&host, &plugin.manifest).await {
                            break Err(error);
                        }
                        println!("upgraded {id} to {version}: events handed over, none lost");
                    }
                    Err(error) => println!("not upgraded, {version} refused: {error:#}"),
                }
            }
            Err(error) => println!("build failed, {id} keeps running as it was: {error:#}"),
        }
    };
    stop.send_replace(true);
    serving.await??;
    host.shutdown().await?;
    let _ = std::fs::remove_file(&state_file);
    outcome
}

/// Builds and validates the crate; the crate as read and its component.
fn build(dir: &Path) -> anyhow::Result<(PluginProject, Vec<u8>)> {
    let plugin = PluginProject::open(dir)?;
    warn_unmatched(&plugin.manifest);
    let component = std::fs::read(plugin.build()?)?;
    Ok((plugin, component))
}

/// The version a (re)build installs as: the manifest's with `-dev.N`, N one past the
/// installed one's, so that every build upgrades the running one.
fn next_dev_version(host: &Host, manifest: &Manifest) -> semver::Version {
    let installed = host.plugins().into_iter().find(|plugin| plugin.manifest.plugin.id == manifest.plugin.id);
    let last = installed
        .and_then(|plugin| plugin.manifest.plugin.version.pre.as_str().strip_prefix("dev.")?.parse::<u64>().ok())
        .unwrap_or(0);
    let mut version = manifest.plugin.version.clone();
    version.pre = semver::Prerelease::new(&format!("dev.{}", last + 1)).unwrap_or_default();
    version
}

async fn install(
    host: &Host,
    manifest: &Manifest,
    version: &semver::Version,
    component: Vec<u8>,
) -> anyhow::Result<()> {
    let mut manifest = manifest.clone();
    manifest.plugin.version = version.clone();
    host.install(manifest, component).await?;
    Ok(())
}

/// The sample household with one device of each kind the plugin's subscriptions can
/// hear from (a generic `sensor` when they are only `ext.` topics), consenting to the
/// plugin for all of them, with control when the plugin sends commands.
async fn sample_devices(host: &Host, manifest: &Manifest) -> anyhow::Result<Vec<Device>> {
    if !host.has_household(HOUSEHOLD)? {
        host.add_household(HOUSEHOLD)?;
    }
    let mut kinds: Vec<&str> = Vec::new();
    for topic in catalog::topics() {
        let heard = manifest.subscriptions.topics.iter().any(|pattern| hearth_package::topic::matches(pattern, &topic));
        if let Some(kind) = catalog::kinds_for(&topic).and_then(|kinds| kinds.first()).filter(|_| heard)
            && !kinds.contains(kind)
        {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        kinds.push("sensor");
    }
    for kind in &kinds {
        let id = format!("{kind}-1");
        if host.device(&id)?.is_none() {
            host.add_device(Device {
                id,
                household: HOUSEHOLD.into(),
                kind: (*kind).into(),
                model: "dev-model".into(),
                region: "DE".into(),
            })?;
        }
    }
    let grant = Grant {
        device_kinds: kinds.iter().map(|kind| (*kind).to_owned()).collect(),
        devices: Default::default(),
        control: !manifest.capabilities.devices.is_empty(),
    };
    host.grant(HOUSEHOLD, &manifest.plugin.id, &grant).await?;
    Ok(host.devices_of(HOUSEHOLD)?)
}

fn write_state(file: &Path, state: &DevState) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(state)?;
    // Tokens: readable by this user only.
    #[cfg(unix)]
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut out = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(file)?;
        out.write_all(text.as_bytes())?;
    }
    #[cfg(not(unix))]
    std::fs::write(file, text)?;
    Ok(())
}

fn banner(state: &DevState, version: &semver::Version, manifest: &Manifest) -> String {
    let devices: Vec<String> = state.devices.iter().map(|device| format!("{} ({})", device.id, device.kind)).collect();
    let mut lines = vec![
        format!("hearth dev: {} {version} on {}", state.plugin, state.server),
        format!("  household {} with {}, consenting", state.household, devices.join(", ")),
        format!("  operator token: {}", state.operator_token),
        format!("  user token ({}): {}", state.household, state.user_token),
    ];
    lines.extend(state.devices.iter().map(|device| format!("  device token ({}): {}", device.id, device.token)));
    let topic = catalog::topics().into_iter().find(|topic| {
        manifest.subscriptions.topics.iter().any(|pattern| hearth_package::topic::matches(pattern, topic))
    });
    lines.push("  from another terminal in this directory:".into());
    if let Some(topic) = topic {
        lines.push(format!("    hearth dev send {topic}"));
    }
    if let Some(operation) = manifest.services.provides.first() {
        lines.push(format!("    hearth dev call {operation} '{{}}'"));
    }
    lines.push("  the plugin's log lines (debug and up) and the host's about it show here".into());
    lines.push("  watching the sources: a change rebuilds and upgrades; Ctrl-C stops".into());
    lines.join("\n")
}

/// Sends a topic's example event or a file's events as a sample device.
fn send(state: &DevState, what: &str, device: Option<&str>) -> anyhow::Result<()> {
    let events = if Path::new(what).is_file() {
        let text = std::fs::read_to_string(what).with_context(|| format!("reading {what}"))?;
        super::events::parse_events(&text)?
    } else {
        let Some(body) = catalog::example(what) else {
            bail!("{what:?} is neither a file nor a catalogue topic; topics: {}", catalog::topics().join(", "));
        };
        vec![json!({ "topic": what, "body": body })]
    };
    let topic = events.first().and_then(|event| event["topic"].as_str()).unwrap_or_default().to_owned();
    let sender = match device {
        Some(id) => state.devices.iter().find(|known| known.id == id).with_context(|| {
            let known: Vec<&str> = state.devices.iter().map(|device| device.id.as_str()).collect();
            format!("no sample device {id:?}; there are {}", known.join(", "))
        })?,
        None => {
            let kinds = catalog::kinds_for(&topic).unwrap_or_default();
            let fitting = state.devices.iter().find(|device| kinds.contains(&device.kind.as_str()));
            match (fitting, kinds.is_empty()) {
                (Some(device), _) => device,
                (None, true) => state.devices.first().context("no sample devices")?,
                (None, false) => bail!(
                    "no sample device sends {topic} (a {} sends it): the plugin does not subscribe to it",
                    kinds.join(" or ")
                ),
            }
        }
    };
    let answer = Client::to(&state.server, &sender.token).json("POST", "/v1/events", Value::Array(events))?;
    for receipt in answer["receipts"].as_array().into_iter().flatten() {
        let duplicate = if receipt["duplicate"] == true { " (a duplicate: already sent)" } else { "" };
        println!("sent {topic} from {} as event {}{duplicate}", sender.id, receipt["id"].as_str().unwrap_or("?"));
    }
    Ok(())
}

/// Calls `SERVICE.OPERATION` as the sample household.
fn call(state: &DevState, operation: &str, input: &str) -> anyhow::Result<()> {
    let (service, operation) =
        operation.rsplit_once('.').with_context(|| format!("{operation:?}: name it SERVICE.OPERATION"))?;
    let input: Value = serde_json::from_str(input).context("the input is not JSON")?;
    let answer = Client::to(&state.server, &state.user_token).json(
        "POST",
        &format!("/v1/services/{service}/{operation}"),
        input,
    )?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}
