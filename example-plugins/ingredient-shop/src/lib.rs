//! Ingredient shop: watches fridge inventory and proposes a restock when a staple runs
//! low or passes its best-before date (one offer per item per day), and provides
//! `shop.quote`, a priced basket from its price list.

mod catalog;
mod quote;

use catalog::Unit;
use hearth_sdk::commerce::{LineItem, OrderProposal};
use hearth_sdk::notify::{self, Category};
use hearth_sdk::{
    Event, EventBody, InventoryAction, Plugin, PluginError, QuantityUnit, ServiceRequest, ServiceResponse, kv,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use quote::{Quote, quote};

#[derive(Default)]
struct IngredientShop;

/// What the shop knows of one household's staples.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Stock {
    /// item → (amount, unit, best-before day)
    items: BTreeMap<String, (u32, Unit, Option<i64>)>,
    /// item → day an offer was made, so each item is offered at most once a day.
    offered: BTreeMap<String, i64>,
}

fn unit(unit: QuantityUnit) -> Unit {
    match unit {
        QuantityUnit::Pieces => Unit::Pieces,
        QuantityUnit::Grams => Unit::Grams,
        QuantityUnit::Millilitres => Unit::Millilitres,
    }
}

fn today() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (now.as_secs() / 86_400) as i64
}

fn day_of(date: &hearth_sdk::Date) -> i64 {
    // Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    let (month, day) = (i64::from(date.month), i64::from(date.day));
    let year = i64::from(date.year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    era * 146_097 + year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year - 719_468
}

/// Why a staple needs restocking, if it does.
fn restock_reason(item: &str, amount: u32, stock_unit: Unit, best_before: Option<i64>, today: i64) -> Option<String> {
    let staple = catalog::staple(item)?;
    if best_before.is_some_and(|day| day < today) {
        return Some(format!("your {item} is past its best-before date"));
    }
    (stock_unit == staple.unit && amount < staple.reorder_below).then(|| format!("you are running low on {item}"))
}

impl Plugin for IngredientShop {
    fn on_event(&mut self, event: Event) -> hearth_sdk::Result<()> {
        let EventBody::FridgeInventory(change) = &event.body else {
            return Ok(());
        };
        let key = kv::household_key(&event.household, "stock");
        let mut stock: Stock = kv::get(&key)?.unwrap_or_default();
        let item = change.item.clone();
        let (amount, stock_unit, best_before) =
            stock.items.get(&item).copied().unwrap_or((0, unit(change.quantity.unit), None));
        let quantity = change.quantity.amount;
        let new_amount = match change.action {
            InventoryAction::Added => amount.saturating_add(quantity),
            InventoryAction::Removed => amount.saturating_sub(quantity),
            InventoryAction::Counted => quantity,
        };
        let new_best_before = change.best_before.as_ref().map(day_of).or(best_before);
        stock.items.insert(item.clone(), (new_amount, stock_unit, new_best_before));

        let today = today();
        let reason = restock_reason(&item, new_amount, stock_unit, new_best_before, today);
        if let (Some(reason), Some(product)) = (reason, catalog::product(&item))
            && stock.offered.get(&item) != Some(&today)
        {
            let proposal = OrderProposal {
                order_id: format!("restock-{}-{}-{today}", event.household, product.sku),
                household: event.household.clone(),
                currency: catalog::CURRENCY.into(),
                items: vec![LineItem {
                    sku: product.sku.into(),
                    name: product.name.into(),
                    quantity: 1,
                    unit_price_minor: product.price_minor,
                }],
                note: format!("Freshcart noticed {reason}."),
            };
            hearth_sdk::commerce::propose(&proposal)?;
            let price = format!("{}.{:02} {}", product.price_minor / 100, product.price_minor % 100, catalog::CURRENCY);
            let message = notify::simple(
                Category::Offer,
                format!("Restock {item}?"),
                format!("{}: {} for {price}.", capitalise(&reason), product.name),
            );
            notify::send(&event.household, &message)?;
            stock.offered.insert(item, today);
        }
        kv::set(&key, &stock)
    }

    fn handle(&mut self, request: ServiceRequest) -> hearth_sdk::Result<ServiceResponse> {
        match (request.service.as_str(), request.operation.as_str()) {
            ("shop", "quote") => ServiceResponse::json(&quote(&request.input_json()?)),
            (service, operation) => Err(PluginError::NotFound(format!("no operation {service}.{operation}"))),
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

hearth_sdk::register_plugin!(IngredientShop);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staples_are_restocked_when_low_or_stale() {
        let today = 20_781;
        assert_eq!(restock_reason("egg", 3, Unit::Pieces, None, today).as_deref(), Some("you are running low on egg"));
        assert_eq!(restock_reason("egg", 4, Unit::Pieces, None, today), None);
        assert_eq!(
            restock_reason("whole milk", 2000, Unit::Millilitres, Some(today - 1), today).as_deref(),
            Some("your whole milk is past its best-before date")
        );
        assert_eq!(restock_reason("whole milk", 2000, Unit::Millilitres, Some(today), today), None);
        assert_eq!(restock_reason("truffle", 0, Unit::Grams, None, today), None, "not a staple");
        assert_eq!(day_of(&hearth_sdk::Date { year: 2026, month: 11, day: 24 }), today);
    }
}
