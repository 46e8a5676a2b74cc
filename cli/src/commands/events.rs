//! `hearth events send`: appliance events from a file, in batches.

use crate::client::{Client, Connection};
use anyhow::Context as _;
use clap::Subcommand;
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Send events from a file (device token): a JSON event, a JSON array, or one
    /// event per line; sent in batches of up to 1,000.
    Send { file: PathBuf },
}

pub fn run(connection: &Connection, command: EventsCommand) -> anyhow::Result<()> {
    let client = Client::new(connection)?;
    let EventsCommand::Send { file } = command;
    let mut text = String::new();
    std::fs::File::open(&file)
        .and_then(|mut f| f.read_to_string(&mut text))
        .with_context(|| format!("reading {}", file.display()))?;
    let events = parse_events(&text)?;
    let (mut accepted, mut duplicates) = (0, 0);
    for batch in events.chunks(1_000) {
        let answer = client.json("POST", "/v1/events", Value::Array(batch.to_vec()))?;
        for receipt in answer["receipts"].as_array().into_iter().flatten() {
            accepted += 1;
            duplicates += usize::from(receipt["duplicate"] == true);
        }
        eprint!("\rsent {accepted} of {}", events.len());
    }
    eprintln!();
    println!("{accepted} events accepted ({duplicates} already known)");
    Ok(())
}

/// Events from a file's text: a JSON event, a JSON array, or one event per line.
pub fn parse_events(text: &str) -> anyhow::Result<Vec<Value>> {
    Ok(match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(events)) => events,
        Ok(event @ Value::Object(_)) => vec![event],
        _ => text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .enumerate()
            .map(|(index, line)| serde_json::from_str(line).with_context(|| format!("line {}: not JSON", index + 1)))
            .collect::<anyhow::Result<_>>()?,
    })
}
