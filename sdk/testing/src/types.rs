//! What [`TestHost`](crate::TestHost)'s methods return: the HTTP API's answers, typed.

use serde::Deserialize;

/// A notification a plugin sent to a household.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Notification {
    /// `ntf-` and a sequence number.
    pub id: String,
    /// The plugin that sent it.
    pub plugin: String,
    /// One line.
    pub title: String,
    /// The text.
    pub body: String,
    /// `info`, `advice`, `offer`, `alert` or `urgent`.
    pub category: String,
    /// A button, if any.
    pub action: Option<Action>,
    /// When it was sent, ms since the epoch.
    pub time_ms: u64,
}

/// A notification's button: a service call the household may make.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Action {
    /// What the button says.
    pub label: String,
    /// `service.operation` to call.
    pub operation: String,
    /// The call's input, JSON text.
    pub input: String,
}

/// An order a plugin proposed to a household.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Order {
    /// The plugin's id for it (unique per plugin, across households).
    pub id: String,
    /// The plugin that proposed it.
    pub plugin: String,
    /// The plugin's publisher.
    pub publisher: String,
    /// The household it was proposed to.
    pub household: String,
    /// ISO 4217, from the household's region.
    pub currency: String,
    /// What it holds.
    pub items: Vec<LineItem>,
    /// The plugin's note to the household.
    pub note: String,
    /// The sum of the items, in minor units.
    pub total_minor: u64,
    /// Where it stands.
    pub status: OrderStatus,
    /// When it was proposed, ms since the epoch.
    pub proposed_ms: u64,
    /// When the household answered.
    pub decided_ms: Option<u64>,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LineItem {
    /// The shop's article number.
    pub sku: String,
    /// What the household sees.
    pub name: String,
    /// How many.
    pub quantity: u32,
    /// Price of one, in minor units.
    pub unit_price_minor: u64,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Proposed, waiting for the household.
    Pending,
    /// Confirmed and booked in the ledger.
    Confirmed,
    /// Declined by the household.
    Declined,
}

/// A command a plugin queued for a device.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct QueuedCommand {
    /// `cmd-` and a sequence number.
    pub id: String,
    /// The plugin that sent it.
    pub plugin: String,
    /// `set-temperature`, `preheat`, `start-program` or `stop`.
    pub command: String,
    /// The argument: a temperature in 0.01 °C or a program name.
    pub argument: Option<serde_json::Value>,
    /// When it was queued, ms since the epoch.
    pub time_ms: u64,
}

/// An event the plugin failed on after every retry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeadLetter {
    /// The event's position in the log.
    pub seq: u64,
    /// The event's id.
    pub event_id: String,
    /// Its topic.
    pub topic: String,
    /// The last error.
    pub error: String,
    /// Attempts made.
    pub attempts: u32,
    /// When it was dead-lettered, ms since the epoch.
    pub time_ms: u64,
}

/// One line of a plugin's log: its own, or the host's about it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LogLine {
    /// `trace`, `debug`, `info`, `warn` or `error`.
    pub level: String,
    /// `plugin` (its own) or `host` (a trap, a timeout, a denial, a dead letter).
    pub source: String,
    /// The text.
    pub message: String,
    /// When it was written, ms since the epoch.
    pub time_ms: u64,
}
