//! `hearth services call`: call an ecosystem service as a device or household.

use crate::client::{Client, Connection};
use anyhow::Context as _;
use clap::Subcommand;
use serde_json::Value;

/// What `hearth services` does.
#[derive(Debug, Subcommand)]
pub enum ServicesCommand {
    /// Call `service.operation` (device or household token) and print the answer.
    Call {
        service: String,
        operation: String,
        /// The request body, JSON.
        #[arg(long, default_value = "{}")]
        input: String,
    },
}

/// Runs `hearth services`.
pub fn run(connection: &Connection, command: ServicesCommand) -> anyhow::Result<()> {
    let ServicesCommand::Call { service, operation, input } = command;
    call(connection, &service, &operation, &input)
}

fn call(connection: &Connection, service: &str, operation: &str, input: &str) -> anyhow::Result<()> {
    let client = Client::new(connection)?;
    let input: Value = serde_json::from_str(input).context("--input is not JSON")?;
    let answer = client.json("POST", &format!("/v1/services/{service}/{operation}"), input)?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}
