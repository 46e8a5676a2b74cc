//! `hearth-registry`: the plugin registry partners publish to and hosts install from.

use anyhow::Context as _;
use clap::Parser;
use hearth_registry::server::{RegistryState, app};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "hearth-registry", version, about = "Hearth plugin registry: publish, resolve, download, yank")]
struct Cli {
    #[arg(long, default_value = "hearth-registry-data")]
    data: PathBuf,
    #[arg(long, default_value = "127.0.0.1:7879")]
    listen: std::net::SocketAddr,
    /// A file holding the admin token (registers publishers); otherwise the first start
    /// creates one and prints it once. `HEARTH_REGISTRY_ADMIN_TOKEN` works too.
    #[arg(long)]
    admin_token_file: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    std::fs::create_dir_all(&cli.data).with_context(|| format!("creating {}", cli.data.display()))?;
    let db = sled::open(cli.data.join("db"))?;
    let state = RegistryState::open(&db)?;
    let given = match cli.admin_token_file {
        Some(path) => Some(std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?),
        None => std::env::var("HEARTH_REGISTRY_ADMIN_TOKEN").ok(),
    };
    match given {
        Some(token) => state.set_admin_token(token.trim())?,
        None => {
            if let Some(token) = state.bootstrap_admin()? {
                println!("admin token (shown once, stored only as a hash): {token}");
            }
        }
    }
    let listener =
        tokio::net::TcpListener::bind(cli.listen).await.with_context(|| format!("binding {}", cli.listen))?;
    println!("hearth-registry listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async { tokio::signal::ctrl_c().await.unwrap_or(()) })
        .await?;
    db.flush_async().await?;
    Ok(())
}
