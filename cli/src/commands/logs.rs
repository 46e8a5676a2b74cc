//! `hearth plugin logs`: a plugin's recent log lines, as its operator or its
//! publisher reads them, and `--follow` to keep reading.

use crate::client::{ApiFailure, Client};
use serde_json::{Value, json};
use std::time::{Duration, UNIX_EPOCH};

/// How often `--follow` asks for new lines.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(500);

/// Prints `plugin`'s lines (after setting its level, if given); with `follow`, keeps
/// printing new ones until interrupted. An operator token reads through the operator
/// routes, a partner token through its own.
pub fn run(client: &Client, plugin: &str, follow: bool, level: Option<&str>) -> anyhow::Result<()> {
    let operator = format!("/v1/plugins/{plugin}");
    let partner = format!("/v1/partner/plugins/{plugin}");
    // The first read tells which routes the token may use.
    let (base, mut page) = match client.json("GET", &format!("{operator}/logs?limit=1000"), Value::Null) {
        Ok(page) => (operator, page),
        Err(error) if ApiFailure::is(&error, 403) => {
            let page = client.json("GET", &format!("{partner}/logs?limit=1000"), Value::Null)?;
            (partner, page)
        }
        Err(error) => return Err(error),
    };
    if let Some(level) = level {
        client.json("PUT", &format!("{base}/log-level"), json!({ "level": level }))?;
        eprintln!("{plugin} now keeps its lines at {level} and above");
    }
    loop {
        for line in page["lines"].as_array().into_iter().flatten() {
            println!("{}", format_line(line));
        }
        let next = page["next"].as_str().map(str::to_owned);
        let full = page["lines"].as_array().is_some_and(|lines| lines.len() == 1000);
        if !follow && !full {
            return Ok(());
        }
        if !full {
            std::thread::sleep(FOLLOW_INTERVAL);
        }
        let after = next.map(|cursor| format!("&after={cursor}")).unwrap_or_default();
        page = client.json("GET", &format!("{base}/logs?limit=1000{after}"), Value::Null)?;
    }
}

/// `TIME LEVEL SOURCE message`, time in UTC to the millisecond.
pub fn format_line(line: &Value) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(line["time_ms"].as_u64().unwrap_or(0));
    format!(
        "{} {:<5} {:<6} {}",
        humantime::format_rfc3339_millis(time),
        line["level"].as_str().unwrap_or("?").to_uppercase(),
        line["source"].as_str().unwrap_or("?"),
        line["message"].as_str().unwrap_or_default()
    )
}
