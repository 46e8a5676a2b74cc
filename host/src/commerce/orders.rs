//! Orders plugins proposed to households, as the host keeps them (real household
//! ids); idempotent by the plugin's order id.

use crate::HostError;
use crate::storage::{Bucket, BucketExt, Storage, decode_json, scoped_key};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Currencies accepted (ISO 4217).
pub const CURRENCIES: &[&str] =
    &["AUD", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "JPY", "KRW", "NOK", "PLN", "SEK", "USD"];
/// Largest order total, in minor units.
pub const MAX_TOTAL_MINOR: u64 = 1_000_000_000_000;
/// Most line items in one order.
pub const MAX_ITEMS: usize = 100;

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct LineItem {
    /// The shop's article number.
    pub sku: String,
    /// What the household sees.
    pub name: String,
    /// How many, at least 1.
    pub quantity: u32,
    /// Price of one, in minor units.
    pub unit_price_minor: u64,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Proposed, waiting for the household.
    Pending,
    /// Confirmed and booked in the ledger.
    Confirmed,
    /// Declined by the household.
    Declined,
}

/// An order as the host keeps it (real household id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Order {
    /// The plugin's order id.
    pub id: String,
    /// The plugin that proposed it.
    pub plugin: String,
    /// The plugin's publisher, booked the publisher share.
    pub publisher: String,
    /// The real household id (empty once the household is erased).
    pub household: String,
    /// ISO 4217 code.
    pub currency: String,
    /// The lines.
    pub items: Vec<LineItem>,
    /// The plugin's note to the household.
    pub note: String,
    /// Sum of the lines, in minor units.
    pub total_minor: u64,
    /// Where it stands.
    pub status: OrderStatus,
    /// When it was proposed, ms since the epoch.
    pub proposed_ms: u64,
    /// When the household decided.
    pub decided_ms: Option<u64>,
}

impl Order {
    /// Whether `other` proposes the same thing (what makes a re-proposal a no-op).
    pub fn same_proposal(&self, other: &Order) -> bool {
        (&self.household, &self.currency, &self.items, &self.note)
            == (&other.household, &other.currency, &other.items, &other.note)
    }
}

/// Orders: the `orders` bucket, keys `plugin \0 order-id`.
#[derive(Clone)]
pub struct Orders {
    bucket: Arc<dyn Bucket>,
}

fn order_key(plugin: &str, id: &str) -> Vec<u8> {
    scoped_key(plugin, id)
}

impl Orders {
    /// Opens the bucket.
    pub fn open(storage: &dyn Storage) -> Result<Self, HostError> {
        Ok(Orders { bucket: storage.bucket("orders")? })
    }

    /// One order of a plugin.
    pub fn get(&self, plugin: &str, id: &str) -> Result<Option<Order>, HostError> {
        Ok(self.bucket.get_json(&order_key(plugin, id))?)
    }

    /// Stores an order.
    pub fn put(&self, order: &Order) -> Result<(), HostError> {
        self.bucket.put_json(&order_key(&order.plugin, &order.id), order)?;
        Ok(())
    }

    /// Erases a household's orders: pending and declined ones go; confirmed ones stay
    /// for accounting (the ledger books them) without the household. Returns how many
    /// orders were touched.
    pub fn erase_household(&self, household: &str) -> Result<usize, HostError> {
        let mut touched = 0;
        for (key, entry) in self.bucket.scan(b"")? {
            let mut order: Order = decode_json(&entry.value)?;
            if order.household != household {
                continue;
            }
            touched += 1;
            if order.status == OrderStatus::Confirmed {
                order.household = String::new();
                order.note = String::new();
                self.put(&order)?;
            } else {
                self.bucket.delete(&key)?;
            }
        }
        Ok(touched)
    }

    /// A household's orders, optionally only those with `status`.
    pub fn of_household(&self, household: &str, status: Option<OrderStatus>) -> Result<Vec<Order>, HostError> {
        let mut orders = Vec::new();
        for (_, entry) in self.bucket.scan(b"")? {
            let order: Order = decode_json(&entry.value)?;
            if order.household == household && status.is_none_or(|status| order.status == status) {
                orders.push(order);
            }
        }
        orders.sort_by_key(|order| order.proposed_ms);
        Ok(orders)
    }
}
