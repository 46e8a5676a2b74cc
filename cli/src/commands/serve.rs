//! `hearth serve`: the HTTP API over an embedded host, until SIGINT or SIGTERM.

use hearth_host::{Host, HostConfig};
use std::path::{Path, PathBuf};

/// Serves until a shutdown signal; then lets the plugins finish and flushes.
pub async fn serve(
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
