//! `hearth ingest`: events from stdin as one device, answered once durable.

use hearth_host::{Host, HostConfig};
use std::path::Path;
use std::time::Duration;

/// Ingests stdin, then waits until every event is delivered.
pub async fn run(data: &Path, device: &str) -> anyhow::Result<()> {
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
