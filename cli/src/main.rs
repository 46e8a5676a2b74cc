//! `hearth`: the Hearth host's command line.

mod client;
mod commands;
mod project;
mod sdk;
mod table;

use commands::{
    cluster_demo, dead_letters, demo, dev, events, households, ingest, keys, plugin, publisher, serve, services, token,
};

use clap::{Parser, Subcommand};
use hearth_host::HostConfig;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "hearth", version, about = "Hearth: a plugin host for connected home appliances")]
struct Cli {
    /// Log as JSON lines (for log shippers) instead of text. Filter with RUST_LOG
    /// (default: warnings, and plugins' own lines from info).
    #[arg(long, global = true)]
    log_json: bool,
    #[command(flatten)]
    connection: client::Connection,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A scripted day in one household: installs the four example plugins, replays
    /// appliance events and prints event → plugin → action, ending with the ledger
    /// statement per publisher.
    Demo {
        /// Data directory; a fresh temporary one when not given.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Where the example plugins' components are (`cargo xtask plugins` builds them).
        #[arg(long, default_value = "target/plugins/wasm32-wasip2/release")]
        plugins: PathBuf,
        /// Run the water-filter and air-care ports in TypeScript and Python instead of
        /// the Rust plugins: this directory's `water-filter-ts` and `air-care-py`, built
        /// with `hearth plugin build` (`cargo xtask languages` builds them).
        #[arg(long, value_name = "EXAMPLE_PLUGINS_DIR", conflicts_with = "cluster")]
        ports: Option<PathBuf>,
        /// Run it on a local cluster instead: 3 NATS JetStream nodes and 3 hosts, one of
        /// them SIGKILLed half way (`cargo xtask cluster`).
        #[arg(long)]
        cluster: bool,
        /// The `nats-server` binary for `--cluster`.
        #[arg(long, default_value = "target/tools/bin/nats-server")]
        nats_server: PathBuf,
    },
    /// Run the plugin in this directory on a local host: build, install with a sample
    /// household and its devices, show its logs, rebuild and upgrade on every change.
    /// `hearth dev send` and `hearth dev call` drive it from another terminal.
    Dev(dev::DevArgs),
    /// Serve the HTTP API (operator, appliance, household and partner routes).
    Serve {
        #[arg(long, default_value = "hearth-data")]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:7878")]
        listen: std::net::SocketAddr,
        /// A file holding the operator token to accept (for automation); otherwise the
        /// first start creates one and prints it once. `HEARTH_OPERATOR_TOKEN` works too.
        #[arg(long)]
        operator_token_file: Option<PathBuf>,
        /// Accept unsigned plugins: for local development only, never in production.
        #[arg(long)]
        dev_allow_unsigned_packages: bool,
        /// Serve `/metrics` on this address only (e.g. a private interface) instead
        /// of on the API listener.
        #[arg(long)]
        metrics_listen: Option<std::net::SocketAddr>,
        /// Events one plugin may fall behind; past it the oldest are passed over for
        /// that plugin (counted in its status) so ingest never stops for it.
        #[arg(long, default_value_t = 1_000_000)]
        max_backlog: u64,
        /// The first retry of a failed event waits this long, each next one twice as
        /// long (the SDK's test harness uses 1 ms).
        #[arg(long, default_value_t = 50)]
        retry_backoff_ms: u64,
        /// The longest wait between retries.
        #[arg(long, default_value_t = 5_000)]
        retry_backoff_max_ms: u64,
        /// The largest plugin component an install accepts, in MiB (a Python plugin's
        /// is about 18).
        #[arg(long, default_value_t = (hearth_package::package::DEFAULT_MAX_COMPONENT_BYTES >> 20) as u32)]
        max_component_mb: u32,
        /// A plugin registry (`hearth-registry`) the console may install and upgrade
        /// from: the server fetches and verifies what the operator reviews.
        #[arg(long, env = "HEARTH_REGISTRY")]
        registry: Option<String>,
        #[command(flatten)]
        cluster: serve::ClusterArgs,
    },
    /// Write, pack and publish plugins (partners); install, upgrade and manage them
    /// on a running server (operators).
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Dead letters: list (operators, publishers), show, redrive (operators).
    #[command(subcommand)]
    DeadLetters(dead_letters::DeadLettersCommand),
    /// Households and appliances (operators), and a household's own devices,
    /// notifications and offers (its user token).
    #[command(subcommand)]
    Households(households::HouseholdsCommand),
    /// Register a publisher on a registry (the registry's administrator).
    #[command(subcommand)]
    Publisher(publisher::PublisherCommand),
    /// Signing keys (partners) and the server's trust store (operators).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Create and revoke API tokens on a running server.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Send appliance events to a running server.
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Services on a running server.
    #[command(subcommand)]
    Services(services::ServicesCommand),
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

/// mimalloc: delivery and ingest allocate many small, short-lived values.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // One line with every cause, never a backtrace: the errors that reach here
            // are the user's to act on (a refused request, a missing file), whatever
            // RUST_BACKTRACE says.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // Plugins' own lines at info by default, so an operator sees what plugins say; at
    // debug in `hearth dev`, where the partner watches their plugin.
    let default_filter = match &cli.command {
        Command::Dev(_) => "warn,hearth::plugin=debug",
        _ => "warn,hearth::plugin=info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into());
    // Colours only for a terminal: a log file or a test reading stderr gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    if cli.log_json {
        logs.json().init();
    } else {
        logs.init();
    }
    match cli.command {
        Command::Demo { plugins, cluster: true, nats_server, .. } => {
            let options = cluster_demo::ClusterDemoOptions { plugins, nats_server };
            blocking(move || cluster_demo::run(&options, &mut std::io::stdout().lock())).await
        }
        Command::Demo { data, plugins, ports, .. } => {
            let mut stdout = std::io::stdout().lock();
            demo::run(&demo::DemoOptions { plugins, data, ports }, &mut stdout).await.map(drop)
        }
        Command::Ingest { data, device } => ingest::run(&data, &device).await,
        Command::Dev(args) => dev::run(args).await,
        Command::Serve {
            data,
            listen,
            operator_token_file,
            dev_allow_unsigned_packages,
            metrics_listen,
            max_backlog,
            retry_backoff_ms,
            retry_backoff_max_ms,
            max_component_mb,
            registry,
            cluster,
        } => {
            let max_component_bytes = (max_component_mb as usize) << 20;
            let mut config = HostConfig { dev_allow_unsigned_packages, max_component_bytes, ..HostConfig::default() };
            config.delivery.max_backlog = max_backlog;
            config.delivery.backoff_base = std::time::Duration::from_millis(retry_backoff_ms);
            config.delivery.backoff_max = std::time::Duration::from_millis(retry_backoff_max_ms.max(retry_backoff_ms));
            let store = cluster.store(data, listen);
            let listeners = serve::Listeners { api: listen, metrics: metrics_listen };
            serve::serve(store, listeners, operator_token_file, registry, config).await
        }
        // The client is blocking; keep it off the runtime's worker threads.
        Command::Plugin(command) => blocking(move || plugin::run(&cli.connection, command)).await,
        Command::Keys(command) => blocking(move || keys::run(&cli.connection, command)).await,
        Command::Token(command) => blocking(move || token::run(&cli.connection, command)).await,
        Command::DeadLetters(command) => blocking(move || dead_letters::run(&cli.connection, command)).await,
        Command::Households(command) => blocking(move || households::run(&cli.connection, command)).await,
        Command::Publisher(command) => blocking(move || publisher::run(command)).await,
        Command::Events(command) => blocking(move || events::run(&cli.connection, command)).await,
        Command::Services(command) => blocking(move || services::run(&cli.connection, command)).await,
    }
}

async fn blocking(work: impl FnOnce() -> anyhow::Result<()> + Send + 'static) -> anyhow::Result<()> {
    blocking_value(work).await
}

/// Runs blocking work (a build, the blocking HTTP client) off the runtime's workers.
async fn blocking_value<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(work).await?
}
