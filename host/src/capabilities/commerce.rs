//! `hearth:plugin/commerce`: orders a plugin proposes to a household.
//!
//! A proposal is validated (ISO 4217 currency, integer minor-unit prices, totals that
//! cannot overflow) and stored as pending, idempotent by the plugin's order id. The
//! household confirms or declines through the host; a confirmation books the order in
//! the [`Ledger`](crate::ledger::Ledger).

use super::notify::consenting_household;
use crate::HostError;
use crate::bindings::hearth::plugin::commerce::{self as wit, CommerceError, Host};
use crate::households::Households;
use crate::refs::Pseudonyms;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Currencies accepted (ISO 4217).
pub const CURRENCIES: &[&str] =
    &["AUD", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "JPY", "KRW", "NOK", "PLN", "SEK", "USD"];
/// Largest order total, in minor units.
pub const MAX_TOTAL_MINOR: u64 = 1_000_000_000_000;
pub const MAX_ITEMS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price_minor: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Confirmed,
    Declined,
}

/// An order as the host keeps it (real household id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The plugin's order id.
    pub id: String,
    pub plugin: String,
    pub publisher: String,
    pub household: String,
    pub currency: String,
    pub items: Vec<LineItem>,
    pub note: String,
    pub total_minor: u64,
    pub status: OrderStatus,
    pub proposed_ms: u64,
    pub decided_ms: Option<u64>,
}

impl Order {
    /// Whether `other` proposes the same thing (what makes a re-proposal a no-op).
    fn same_proposal(&self, other: &Order) -> bool {
        (&self.household, &self.currency, &self.items, &self.note)
            == (&other.household, &other.currency, &other.items, &other.note)
    }
}

/// Orders in sled, keyed `plugin \0 order-id`.
#[derive(Debug, Clone)]
pub struct Orders {
    tree: sled::Tree,
}

fn order_key(plugin: &str, id: &str) -> Vec<u8> {
    super::config::scoped_key(plugin, id)
}

impl Orders {
    pub fn open(db: &sled::Db) -> Result<Self, HostError> {
        Ok(Orders { tree: db.open_tree("orders")? })
    }

    pub fn get(&self, plugin: &str, id: &str) -> Result<Option<Order>, HostError> {
        self.tree
            .get(order_key(plugin, id))?
            .map(|bytes| serde_json::from_slice(&bytes).map_err(|error| HostError::Corrupt(format!("order: {error}"))))
            .transpose()
    }

    pub fn put(&self, order: &Order) -> Result<(), HostError> {
        let bytes = serde_json::to_vec(order).map_err(|error| HostError::Corrupt(error.to_string()))?;
        self.tree.insert(order_key(&order.plugin, &order.id), bytes)?;
        Ok(())
    }

    /// Erases a household's orders: pending and declined ones go; confirmed ones stay
    /// for accounting (the ledger books them) without the household. Returns how many
    /// orders were touched.
    pub fn erase_household(&self, household: &str) -> Result<usize, HostError> {
        let mut touched = 0;
        for entry in self.tree.iter() {
            let (key, value) = entry?;
            let mut order: Order =
                serde_json::from_slice(&value).map_err(|error| HostError::Corrupt(format!("order: {error}")))?;
            if order.household != household {
                continue;
            }
            touched += 1;
            if order.status == OrderStatus::Confirmed {
                order.household = String::new();
                order.note = String::new();
                self.put(&order)?;
            } else {
                self.tree.remove(key)?;
            }
        }
        Ok(touched)
    }

    /// A household's orders, optionally only those with `status`.
    pub fn of_household(&self, household: &str, status: Option<OrderStatus>) -> Result<Vec<Order>, HostError> {
        let mut orders = Vec::new();
        for value in self.tree.iter().values() {
            let order: Order =
                serde_json::from_slice(&value?).map_err(|error| HostError::Corrupt(format!("order: {error}")))?;
            if order.household == household && status.is_none_or(|status| order.status == status) {
                orders.push(order);
            }
        }
        orders.sort_by_key(|order| order.proposed_ms);
        Ok(orders)
    }
}

/// Checks a proposal and computes its total.
pub fn validate(proposal: &wit::OrderProposal) -> Result<(Vec<LineItem>, u64), String> {
    let id = &proposal.order_id;
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("order-id must be 1 to 128 printable ASCII characters".into());
    }
    if !CURRENCIES.contains(&proposal.currency.as_str()) {
        return Err(format!(
            "currency {:?} is not an accepted ISO 4217 code ({})",
            proposal.currency,
            CURRENCIES.join(", ")
        ));
    }
    if proposal.items.is_empty() || proposal.items.len() > MAX_ITEMS {
        return Err(format!("an order has 1 to {MAX_ITEMS} items"));
    }
    let mut total: u64 = 0;
    let mut items = Vec::with_capacity(proposal.items.len());
    for item in &proposal.items {
        if item.sku.is_empty() || item.name.trim().is_empty() || item.quantity == 0 {
            return Err("every item needs a sku, a name and a quantity of at least 1".into());
        }
        let line = item
            .unit_price_minor
            .checked_mul(u64::from(item.quantity))
            .and_then(|line| total.checked_add(line))
            .filter(|&sum| sum <= MAX_TOTAL_MINOR)
            .ok_or_else(|| format!("the order total exceeds {MAX_TOTAL_MINOR} minor units"))?;
        total = line;
        items.push(LineItem {
            sku: item.sku.clone(),
            name: item.name.trim().to_owned(),
            quantity: item.quantity,
            unit_price_minor: item.unit_price_minor,
        });
    }
    if proposal.note.len() > 500 {
        return Err("the note is at most 500 bytes".into());
    }
    Ok((items, total))
}

/// Per-store context of the commerce capability.
pub struct CommerceCtx {
    pub(crate) plugin: Arc<str>,
    pub(crate) publisher: Arc<str>,
    pub(crate) orders: Orders,
    pub(crate) refs: Pseudonyms,
    pub(crate) households: Households,
}

impl Host for CommerceCtx {
    fn propose(&mut self, proposal: wit::OrderProposal) -> wasmtime::Result<Result<(), CommerceError>> {
        let resolved = consenting_household(&self.refs, &self.households, &self.plugin, &proposal.household)
            .map_err(|error| wasmtime::format_err!("commerce: {error}"))?;
        let Some(household) = resolved else {
            return Ok(Err(CommerceError::UnknownHousehold(format!(
                "no consenting household with ref {}",
                proposal.household
            ))));
        };
        let (items, total_minor) = match validate(&proposal) {
            Ok(valid) => valid,
            Err(reason) => return Ok(Err(CommerceError::Invalid(reason))),
        };
        let order = Order {
            id: proposal.order_id,
            plugin: self.plugin.to_string(),
            publisher: self.publisher.to_string(),
            household,
            currency: proposal.currency,
            items,
            note: proposal.note,
            total_minor,
            status: OrderStatus::Pending,
            proposed_ms: crate::clock::now_ms(),
            decided_ms: None,
        };
        let storage = |error: HostError| wasmtime::format_err!("commerce: {error}");
        match self.orders.get(&self.plugin, &order.id).map_err(storage)? {
            Some(existing) if existing.same_proposal(&order) => Ok(Ok(())),
            Some(_) => Ok(Err(CommerceError::Conflict(format!("order id {} is used for a different order", order.id)))),
            None => {
                self.orders.put(&order).map_err(storage)?;
                Ok(Ok(()))
            }
        }
    }
}
