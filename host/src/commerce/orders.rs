//! Orders plugins proposed to households, as the host keeps them (real household
//! ids); idempotent by the plugin's order id.

use crate::HostError;
use crate::storage::{Bucket, BucketExt, Index, Storage, decode_json, scoped_key};
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

/// Orders: the `orders` bucket, keys `plugin \0 order-id`, and `household-orders`,
/// the orders of each household (a household's offers are read on every app refresh).
#[derive(Clone)]
pub struct Orders {
    bucket: Arc<dyn Bucket>,
    by_household: Index,
}

fn order_key(plugin: &str, id: &str) -> Vec<u8> {
    scoped_key(plugin, id)
}

impl Orders {
    /// Opens the bucket.
    pub fn open(storage: &dyn Storage) -> Result<Self, HostError> {
        let bucket = storage.bucket("orders")?;
        let by_household = Index::open(storage, "household-orders", &*bucket, |entry| {
            decode_json::<Order>(&entry.value).map(|order| Some(order.household).filter(|owner| !owner.is_empty()))
        })?;
        Ok(Orders { bucket, by_household })
    }

    /// One order of a plugin.
    pub fn get(&self, plugin: &str, id: &str) -> Result<Option<Order>, HostError> {
        Ok(self.bucket.get_json(&order_key(plugin, id))?)
    }

    /// Stores an order.
    pub fn put(&self, order: &Order) -> Result<(), HostError> {
        let key = order_key(&order.plugin, &order.id);
        if !order.household.is_empty() {
            self.by_household.add(&order.household, &key)?;
        }
        self.bucket.put_json(&key, order)?;
        Ok(())
    }

    /// The household's orders as stored: those its index names that still name it.
    fn stored_of(&self, household: &str) -> Result<Vec<(Vec<u8>, Order)>, HostError> {
        let mut orders = Vec::new();
        for key in self.by_household.keys_of(household)? {
            let found: Option<Order> = self.bucket.get_json(&key)?;
            if let Some(order) = found.filter(|order| order.household == household) {
                orders.push((key, order));
            }
        }
        Ok(orders)
    }

    /// Erases a household's orders: pending and declined ones go; confirmed ones stay
    /// for accounting (the ledger books them) without the household. Returns how many
    /// orders were touched.
    pub fn erase_household(&self, household: &str) -> Result<usize, HostError> {
        let mut touched = 0;
        for (key, mut order) in self.stored_of(household)? {
            touched += 1;
            if order.status == OrderStatus::Confirmed {
                order.household = String::new();
                order.note = String::new();
                self.put(&order)?;
            } else {
                self.bucket.delete(&key)?;
            }
        }
        self.by_household.remove_owner(household)?;
        Ok(touched)
    }

    /// A household's orders, optionally only those with `status`.
    pub fn of_household(&self, household: &str, status: Option<OrderStatus>) -> Result<Vec<Order>, HostError> {
        let mut orders: Vec<Order> = (self.stored_of(household)?.into_iter())
            .map(|(_, order)| order)
            .filter(|order| status.is_none_or(|status| order.status == status))
            .collect();
        orders.sort_by_key(|order| order.proposed_ms);
        Ok(orders)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(plugin: &str, id: &str, household: &str, proposed_ms: u64) -> Order {
        Order {
            id: id.into(),
            plugin: plugin.into(),
            publisher: "pub".into(),
            household: household.into(),
            currency: "EUR".into(),
            items: vec![],
            note: "n".into(),
            total_minor: 1,
            status: OrderStatus::Pending,
            proposed_ms,
            decided_ms: None,
        }
    }

    /// Random proposals, confirmations and erasures (fixed seed) against a plain
    /// model: each household's orders are exactly its own, oldest first, with and
    /// without a status filter; also after the index is rebuilt from the orders alone.
    #[test]
    fn each_household_reads_exactly_its_orders() {
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::storage::sled::SledStorage::open(dir.path()).unwrap();
        let orders = Orders::open(&storage).unwrap();
        let mut model: std::collections::BTreeMap<(String, String), Order> = Default::default();
        let mut random = fastrand::Rng::with_seed(0x0dde);
        let check = |orders: &Orders, model: &std::collections::BTreeMap<(String, String), Order>| {
            for h in 0..5 {
                let household = format!("h{h}");
                for status in [None, Some(OrderStatus::Pending), Some(OrderStatus::Confirmed)] {
                    let read = orders.of_household(&household, status).unwrap();
                    let mut expected: Vec<Order> = (model.values())
                        .filter(|order| order.household == household && status.is_none_or(|s| order.status == s))
                        .cloned()
                        .collect();
                    expected.sort_by_key(|order| order.proposed_ms);
                    assert_eq!(read, expected, "{household} {status:?}");
                }
            }
        };
        for step in 0..1_500u64 {
            let household = format!("h{}", random.u64(..5));
            match random.u64(..20) {
                0 => {
                    let touched = orders.erase_household(&household).unwrap();
                    let mine = model.values().filter(|order| order.household == household).count();
                    assert_eq!(touched, mine, "step {step}");
                    model.retain(|_, order| order.household != household || order.status == OrderStatus::Confirmed);
                    for order in model.values_mut().filter(|order| order.household == household) {
                        order.household = String::new();
                        order.note = String::new();
                    }
                }
                1..=4 => {
                    let Some(mut pending) = model.values().find(|order| order.status == OrderStatus::Pending).cloned()
                    else {
                        continue;
                    };
                    pending.status = OrderStatus::Confirmed;
                    orders.put(&pending).unwrap();
                    model.insert((pending.plugin.clone(), pending.id.clone()), pending);
                }
                _ => {
                    let proposed = order(&format!("p{}", random.u64(..3)), &format!("o{step}"), &household, step);
                    orders.put(&proposed).unwrap();
                    model.insert((proposed.plugin.clone(), proposed.id.clone()), proposed);
                }
            }
            if step % 100 == 0 {
                check(&orders, &model);
            }
        }
        check(&orders, &model);
        storage.bucket("household-orders").unwrap().delete_prefix(b"").unwrap();
        check(&Orders::open(&storage).unwrap(), &model);
    }
}
