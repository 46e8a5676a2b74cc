//! `hearth households` (operator): register households and their appliances; and
//! what one household sees with its own token: devices, notifications, offers, and
//! its answer to an offer.

use crate::client::{Client, Connection};
use crate::table::table;
use clap::Subcommand;
use serde_json::{Value, json};

#[derive(Debug, Subcommand)]
pub enum HouseholdsCommand {
    /// Register a household (operator token).
    Add { id: String },
    /// Register an appliance to a household (operator token).
    AddDevice {
        id: String,
        #[arg(long)]
        household: String,
        /// `fridge`, `oven`, `washer`, `air-conditioner`, …
        #[arg(long)]
        kind: String,
        #[arg(long, default_value = "unknown")]
        model: String,
        /// Where the appliance is sold and used, e.g. `DE`.
        #[arg(long, default_value = "DE")]
        region: String,
    },
    /// The household's devices (its user token).
    Devices,
    /// Notifications the household received, oldest first (its user token).
    Notifications,
    /// Orders proposed to the household and not yet answered (its user token).
    Offers,
    /// Confirm a proposed order (its user token): it is booked in the ledger once.
    Confirm { plugin: String, order: String },
    /// Decline a proposed order (its user token).
    Decline { plugin: String, order: String },
}

pub fn run(connection: &Connection, command: HouseholdsCommand) -> anyhow::Result<()> {
    let client = Client::new(connection)?;
    match command {
        HouseholdsCommand::Add { id } => {
            client.json("POST", "/v1/households", json!({ "id": id }))?;
            println!("registered household {id}");
        }
        HouseholdsCommand::AddDevice { id, household, kind, model, region } => {
            let device = json!({"id": id, "household": household, "kind": kind, "model": model, "region": region});
            client.json("POST", "/v1/devices", device)?;
            println!("registered {kind} {id} in {household}");
        }
        HouseholdsCommand::Devices => {
            let answer = client.json("GET", "/v1/me/devices", Value::Null)?;
            let rows =
                answer["devices"].as_array().into_iter().flatten().map(|device| {
                    [&device["id"], &device["kind"], &device["model"], &device["region"]].map(text).to_vec()
                });
            println!("{}", table(&["DEVICE", "KIND", "MODEL", "REGION"], rows));
        }
        HouseholdsCommand::Notifications => {
            let answer = client.json("GET", "/v1/me/notifications", Value::Null)?;
            let rows = answer["notifications"].as_array().into_iter().flatten().map(|notification| {
                [&notification["plugin"], &notification["title"], &notification["body"]].map(text).to_vec()
            });
            println!("{}", table(&["PLUGIN", "TITLE", "BODY"], rows));
        }
        HouseholdsCommand::Offers => {
            let answer = client.json("GET", "/v1/me/offers", Value::Null)?;
            let rows = answer["offers"].as_array().into_iter().flatten().map(|order| {
                let total = format!("{} {}", order["total_minor"], text(&order["currency"]));
                vec![text(&order["plugin"]), text(&order["id"]), total, items(&order["items"])]
            });
            println!("{}", table(&["PLUGIN", "ORDER", "TOTAL (MINOR UNITS)", "ITEMS"], rows));
        }
        HouseholdsCommand::Confirm { plugin, order } => {
            let booked = client.json("POST", &format!("/v1/me/orders/{plugin}/{order}/confirm"), Value::Null)?;
            println!("confirmed {order} from {plugin}: {} {}", booked["gross_minor"], text(&booked["currency"]));
        }
        HouseholdsCommand::Decline { plugin, order } => {
            client.json("POST", &format!("/v1/me/orders/{plugin}/{order}/decline"), Value::Null)?;
            println!("declined {order} from {plugin}");
        }
    }
    Ok(())
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn items(value: &Value) -> String {
    let items: Vec<String> = value
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| format!("{} × {}", item["quantity"], text(&item["name"])))
        .collect();
    items.join(", ")
}
