//! `hearth token`: create and revoke API tokens.

use crate::client::{Client, Connection};
use clap::Subcommand;
use serde_json::{Value, json};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token (operator token); prints it once.
    Create {
        /// operator, device, user or partner
        #[arg(long)]
        role: String,
        /// Device id, household id or publisher.
        #[arg(long, default_value = "")]
        scope: String,
        /// Seconds until it expires; never by default.
        #[arg(long)]
        ttl_s: Option<u64>,
    },
    /// Revoke a token by id (operator token).
    Revoke { id: String },
}

pub fn run(connection: &Connection, command: TokenCommand) -> anyhow::Result<()> {
    let client = Client::new(connection)?;
    match command {
        TokenCommand::Create { role, scope, ttl_s } => {
            let created = client.json("POST", "/v1/tokens", json!({"role": role, "scope": scope, "ttl_s": ttl_s}))?;
            eprintln!("token {} ({role} {scope}); it is shown only now:", created["id"].as_str().unwrap_or("?"));
            println!("{}", created["token"].as_str().unwrap_or_default());
        }
        TokenCommand::Revoke { id } => {
            client.json("DELETE", &format!("/v1/tokens/{id}"), Value::Null)?;
            println!("revoked {id}");
        }
    }
    Ok(())
}
