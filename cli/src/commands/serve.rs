//! `hearth serve`: the HTTP API over a host, until SIGINT or SIGTERM. The host keeps
//! its state in an embedded sled store, or, with `--nats`, in a NATS JetStream cluster
//! it shares with the other hosts started the same way.

use hearth_host::cluster::ClusterConfig;
use hearth_host::{Backend, Host, HostConfig};
use hearth_nats::{LogConfig, NatsConfig, NatsStorage};
use std::path::PathBuf;
use std::time::Duration;

/// `hearth serve`'s cluster options.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// Join a cluster: NATS servers (`nats://HOST:PORT`, comma-separated) whose
    /// JetStream holds all state; `--data` is then unused.
    #[arg(long, env = "HEARTH_NATS", value_delimiter = ',')]
    nats: Vec<String>,
    /// Replicas of every stream and bucket (at most the NATS cluster's size); 3 by
    /// default with three or more servers given, else 1.
    #[arg(long)]
    nats_replicas: Option<usize>,
    /// This host's id among the cluster's members (unique, and the same across its
    /// restarts so that it takes its leases back at once); default: the hostname and
    /// the listen port.
    #[arg(long)]
    host_id: Option<String>,
    /// Partitions each subscription's events are spread over (fixed when the events
    /// stream is first made).
    #[arg(long, default_value_t = 8)]
    partitions: u32,
    /// Seconds a dead host's partitions wait before another host takes them over.
    #[arg(long, default_value_t = 5)]
    lease_secs: u64,
    /// Hours an event stays in the stream at most, delivered or not (when the stream
    /// is first made).
    #[arg(long, default_value_t = 168)]
    stream_max_age_hours: u64,
    /// Bytes the stream may hold at most; past it the oldest events go (when the
    /// stream is first made; default: no limit but the age).
    #[arg(long)]
    stream_max_bytes: Option<i64>,
    /// Seconds a resent event id is recognised as a duplicate (when the stream is
    /// first made).
    #[arg(long, default_value_t = 120)]
    duplicate_window_secs: u64,
}

/// Where `hearth serve` keeps its state.
pub enum Store {
    /// The embedded store in this directory.
    Embedded(PathBuf),
    /// A NATS JetStream cluster.
    Nats {
        /// How to reach it and replicate.
        nats: NatsConfig,
        /// The events stream.
        log: LogConfig,
        /// This host's membership.
        member: ClusterConfig,
    },
}

impl ClusterArgs {
    /// The store these options choose.
    pub fn store(self, data: PathBuf, listen: std::net::SocketAddr) -> Store {
        if self.nats.is_empty() {
            return Store::Embedded(data);
        }
        let replicas = self.nats_replicas.unwrap_or(if self.nats.len() >= 3 { 3 } else { 1 });
        let host_id = self.host_id.unwrap_or_else(|| format!("{}:{}", hostname(), listen.port()));
        Store::Nats {
            nats: NatsConfig { servers: self.nats, replicas },
            log: LogConfig {
                partitions: self.partitions,
                max_age: Duration::from_secs(self.stream_max_age_hours.max(1) * 3600),
                duplicate_window: Duration::from_secs(self.duplicate_window_secs.max(1)),
                max_bytes: self.stream_max_bytes,
                ..LogConfig::default()
            },
            member: ClusterConfig { lease: Duration::from_secs(self.lease_secs.max(1)), ..ClusterConfig::new(host_id) },
        }
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "hearth".into())
}

/// A plugin's deadline per event in a cluster (100 ms on the embedded store).
const CLUSTER_EVENT_TIMEOUT: Duration = Duration::from_secs(1);
/// A plugin's deadline per service call in a cluster (500 ms on the embedded store).
const CLUSTER_SERVICE_TIMEOUT: Duration = Duration::from_secs(2);

/// Opens the host on `store`; a cluster is waited for up to a minute (its nodes may
/// still be electing their JetStream leader).
async fn open(store: Store, config: HostConfig) -> anyhow::Result<Host> {
    let (nats, log, member) = match store {
        Store::Embedded(data) => return Ok(Host::open(&data, config).await?),
        Store::Nats { nats, log, member } => (nats, log, member),
    };
    // A plugin's storage calls are network round trips to NATS here, and the time
    // they take counts against the plugin's deadline: allow for them.
    let mut config = config;
    for limits in [&mut config.default_limits, &mut config.max_limits] {
        limits.event_timeout = limits.event_timeout.max(CLUSTER_EVENT_TIMEOUT);
        limits.service_timeout = limits.service_timeout.max(CLUSTER_SERVICE_TIMEOUT);
    }
    let started = std::time::Instant::now();
    let (storage, log) = loop {
        let (nats, log) = (nats.clone(), log.clone());
        // The client blocks while it connects: keep it off the runtime's workers.
        let attempt = tokio::task::spawn_blocking(move || {
            let storage = NatsStorage::connect(&nats)?;
            let log = storage.event_log(&log).map_err(|error| anyhow::anyhow!("{error}"))?;
            anyhow::Ok((storage, log))
        })
        .await?;
        match attempt {
            Ok(opened) => break opened,
            Err(error) if started.elapsed() < Duration::from_secs(60) => {
                eprintln!("waiting for NATS JetStream: {error}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) => return Err(error.context("NATS JetStream did not answer within a minute")),
        }
    };
    eprintln!("member {} of the cluster on {}", member.host_id, nats.servers.join(","));
    let backend = Backend { storage: std::sync::Arc::new(storage), log, cluster: Some(member) };
    Ok(Host::open_on(backend, config).await?)
}

/// Where `hearth serve` listens.
pub struct Listeners {
    /// The API (and the console).
    pub api: std::net::SocketAddr,
    /// `/metrics` alone, when it is kept off the API listener.
    pub metrics: Option<std::net::SocketAddr>,
}

/// Serves until a shutdown signal; then lets the plugins finish and flushes.
pub async fn serve(
    store: Store,
    listeners: Listeners,
    token_file: Option<PathBuf>,
    registry: Option<String>,
    config: HostConfig,
) -> anyhow::Result<()> {
    let Listeners { api: listen, metrics: metrics_listen } = listeners;
    use anyhow::Context as _;
    if config.dev_allow_unsigned_packages {
        tracing::warn!("accepting unsigned plugins (--dev-allow-unsigned-packages): do not run this in production");
    }
    let host = open(store, config).await?;
    let mut state = hearth_server::ApiState::new(host.clone())?;
    state.registry = registry.map(|url| std::sync::Arc::new(hearth_registry_client::Registry::new(&url)));
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

pub async fn shutdown_signal() {
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
