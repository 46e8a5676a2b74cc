//! `hearth dead-letters`: the events a plugin failed on after every retry — list them
//! (operator, or the plugin's publisher), show one with its event, deliver them again.

use crate::client::{ApiFailure, Client, Connection};
use crate::table::table;
use anyhow::bail;
use clap::Subcommand;
use serde_json::Value;

#[derive(Debug, Subcommand)]
pub enum DeadLettersCommand {
    /// A plugin's dead letters, oldest first (operator token, or the publisher's).
    List { plugin: String },
    /// One dead letter with its whole event (operator token).
    Show { plugin: String, seq: u64 },
    /// Deliver dead letters again (operator token): one by its seq, or --all. Each
    /// that is handled now leaves the list; one that fails again stays.
    Redrive {
        plugin: String,
        #[arg(required_unless_present = "all")]
        seq: Option<u64>,
        #[arg(long, conflicts_with = "seq")]
        all: bool,
    },
}

pub fn run(connection: &Connection, command: DeadLettersCommand) -> anyhow::Result<()> {
    let client = Client::new(connection)?;
    match command {
        DeadLettersCommand::List { plugin } => {
            let letters = list(&client, &plugin)?;
            let rows = letters.iter().map(|letter| {
                let cell = |key: &str| letter[key].as_str().map_or_else(|| letter[key].to_string(), str::to_owned);
                vec![cell("seq"), cell("event_id"), cell("topic"), cell("attempts"), cell("error")]
            });
            println!("{}", table(&["SEQ", "EVENT", "TOPIC", "ATTEMPTS", "ERROR"], rows));
        }
        DeadLettersCommand::Show { plugin, seq } => {
            let letter = client.json("GET", &format!("/v1/plugins/{plugin}/dead-letters/{seq}"), Value::Null)?;
            println!("{}", serde_json::to_string_pretty(&letter)?);
        }
        DeadLettersCommand::Redrive { plugin, seq, all } => {
            let seqs: Vec<u64> = match (seq, all) {
                (Some(seq), _) => vec![seq],
                (None, true) => list(&client, &plugin)?.iter().filter_map(|letter| letter["seq"].as_u64()).collect(),
                (None, false) => bail!("name a seq or pass --all"),
            };
            let mut failed = 0;
            for seq in &seqs {
                match client.json("POST", &format!("/v1/plugins/{plugin}/dead-letters/{seq}/redrive"), Value::Null) {
                    Ok(_) => println!("redelivered {seq}"),
                    Err(error) => {
                        failed += 1;
                        println!("{seq} failed again: {error:#}");
                    }
                }
            }
            if failed > 0 {
                bail!("{failed} of {} failed again and stay dead letters", seqs.len());
            }
        }
    }
    Ok(())
}

/// The list through the operator's route, or the publisher's when the token is a
/// partner's.
fn list(client: &Client, plugin: &str) -> anyhow::Result<Vec<Value>> {
    let answer = match client.json("GET", &format!("/v1/plugins/{plugin}/dead-letters"), Value::Null) {
        Err(error) if ApiFailure::is(&error, 403) => {
            client.json("GET", &format!("/v1/partner/plugins/{plugin}/dead-letters"), Value::Null)?
        }
        answer => answer?,
    };
    Ok(answer["dead_letters"].as_array().cloned().unwrap_or_default())
}
