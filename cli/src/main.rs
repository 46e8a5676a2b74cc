//! `hearth`: the Hearth host's command line.

mod client;
mod demo;
mod partner;
mod registry;

use clap::{Parser, Subcommand};
use hearth_host::{Host, HostConfig};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Parser)]
#[command(name = "hearth", version, about = "Hearth: a plugin host for connected home appliances")]
struct Cli {
    /// Log as JSON lines (for log shippers) instead of text. Filter with RUST_LOG.
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
    },
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
    },
    /// Write, pack and publish plugins (partners); install, upgrade and manage them
    /// on a running server (operators).
    #[command(subcommand)]
    Plugin(client::PluginCommand),
    /// Signing keys (partners) and the server's trust store (operators).
    #[command(subcommand)]
    Keys(partner::KeysCommand),
    /// Create and revoke API tokens on a running server.
    #[command(subcommand)]
    Token(client::TokenCommand),
    /// Send appliance events to a running server.
    #[command(subcommand)]
    Events(client::EventsCommand),
    /// Services on a running server.
    Services {
        #[command(subcommand)]
        command: ServicesCommand,
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

#[derive(Subcommand)]
enum ServicesCommand {
    /// Call `service.operation` (device or household token) and print the answer.
    Call {
        service: String,
        operation: String,
        /// The request body, JSON.
        #[arg(long, default_value = "{}")]
        input: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if cli.log_json {
        logs.json().init();
    } else {
        logs.init();
    }
    match cli.command {
        Command::Demo { data, plugins } => {
            let mut stdout = std::io::stdout().lock();
            demo::run(&demo::DemoOptions { plugins, data }, &mut stdout).await.map(drop)
        }
        Command::Ingest { data, device } => ingest_stdin(&data, &device).await,
        Command::Serve {
            data,
            listen,
            operator_token_file,
            dev_allow_unsigned_packages,
            metrics_listen,
            max_backlog,
        } => {
            let mut config = HostConfig { dev_allow_unsigned_packages, ..HostConfig::default() };
            config.delivery.max_backlog = max_backlog;
            serve(&data, listen, metrics_listen, operator_token_file, config).await
        }
        // The client is blocking; keep it off the runtime's worker threads.
        Command::Plugin(command) => blocking(move || client::plugin(&cli.connection, command)).await,
        Command::Keys(command) => blocking(move || client::keys(&cli.connection, command)).await,
        Command::Token(command) => blocking(move || client::token(&cli.connection, command)).await,
        Command::Events(command) => blocking(move || client::events(&cli.connection, command)).await,
        Command::Services { command: ServicesCommand::Call { service, operation, input } } => {
            blocking(move || client::services(&cli.connection, &service, &operation, &input)).await
        }
    }
}

async fn blocking(work: impl FnOnce() -> anyhow::Result<()> + Send + 'static) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(work).await?
}

async fn serve(
    data: &Path,
    listen: std::net::SocketAddr,
    metrics_listen: Option<std::net::SocketAddr>,
    token_file: Option<PathBuf>,
    config: HostConfig,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    if config.dev_allow_unsigned_packages {
        tracing::warn!("accepting unsigned plugins (--dev-allow-unsigned-packages): do not run this in production");
    }
    let host = Host::open(data, config).await?;
    let mut state = hearth_server::ApiState::new(host.clone())?;
    let given = match token_file {
        Some(path) => Some(std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?),
        None => std::env::var("HEARTH_OPERATOR_TOKEN").ok(),
    };
    match given {
        Some(token) => state.tokens.import_operator(token.trim()).await?,
        None => {
            if let Some(token) = state.tokens.bootstrap_operator().await? {
                println!("operator token (shown once, stored only as a hash): {token}");
            }
        }
    }
    if let Some(address) = metrics_listen {
        state.metrics_on_api = false;
        let listener = tokio::net::TcpListener::bind(address).await.with_context(|| format!("binding {address}"))?;
        eprintln!("metrics on http://{}/metrics", listener.local_addr()?);
        let metrics = hearth_server::metrics_app(state.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, metrics).await {
                tracing::error!(%error, "the metrics listener failed");
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    println!("hearth listening on http://{}", listener.local_addr()?);
    axum::serve(listener, hearth_server::app(state)).with_graceful_shutdown(shutdown_signal()).await?;
    // In-flight requests are done; let the plugins finish queued calls and flush.
    host.shutdown().await?;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
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
