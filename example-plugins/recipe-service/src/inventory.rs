//! A household's fridge contents, rebuilt from fridge-inventory events.

use hearth_sdk::{Date, InventoryAction, InventoryChange, QuantityUnit};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// How many recent event ids are remembered to drop redeliveries.
const REMEMBERED_EVENTS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Pieces,
    Grams,
    Millilitres,
}

impl From<QuantityUnit> for Unit {
    fn from(unit: QuantityUnit) -> Self {
        match unit {
            QuantityUnit::Pieces => Unit::Pieces,
            QuantityUnit::Grams => Unit::Grams,
            QuantityUnit::Millilitres => Unit::Millilitres,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stock {
    pub amount: u32,
    pub unit: Unit,
    /// Earliest best-before date of what is in the fridge, in days since 1970-01-01.
    pub best_before_day: Option<i64>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Inventory {
    pub items: BTreeMap<String, Stock>,
    /// Ids of the last events applied, oldest first: delivery is at-least-once and
    /// added/removed are not idempotent on their own.
    recent_events: VecDeque<String>,
}

impl Inventory {
    /// Applies one change; returns false when the event was applied before.
    pub fn apply(&mut self, event_id: &str, change: &InventoryChange) -> bool {
        if self.recent_events.iter().any(|id| id == event_id) {
            return false;
        }
        if self.recent_events.len() == REMEMBERED_EVENTS {
            self.recent_events.pop_front();
        }
        self.recent_events.push_back(event_id.to_owned());

        let item = change.item.trim().to_lowercase();
        let unit = Unit::from(change.quantity.unit);
        let amount = change.quantity.amount;
        let best_before_day = change.best_before.as_ref().map(days_since_epoch);
        match change.action {
            InventoryAction::Added => {
                let stock = self.items.entry(item).or_insert(Stock { amount: 0, unit, best_before_day });
                if stock.unit != unit {
                    // A fridge that switches units for an item (scale vs camera count)
                    // cannot be reconciled; trust the newest reading.
                    *stock = Stock { amount: 0, unit, best_before_day };
                }
                stock.amount = stock.amount.saturating_add(amount);
                stock.best_before_day = earliest(stock.best_before_day, best_before_day);
            }
            InventoryAction::Removed => {
                if let Some(stock) = self.items.get_mut(&item) {
                    stock.amount = stock.amount.saturating_sub(amount);
                    if stock.amount == 0 {
                        self.items.remove(&item);
                    }
                }
            }
            InventoryAction::Counted => {
                if amount == 0 {
                    self.items.remove(&item);
                } else {
                    self.items.insert(item, Stock { amount, unit, best_before_day });
                }
            }
        }
        true
    }
}

fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Days since 1970-01-01 of a Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_since_epoch(date: &Date) -> i64 {
    let (month, day) = (i64::from(date.month), i64::from(date.day));
    let year = i64::from(date.year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_sdk::Quantity;

    fn change(item: &str, action: InventoryAction, amount: u32, unit: QuantityUnit) -> InventoryChange {
        InventoryChange { item: item.into(), action, quantity: Quantity { amount, unit }, best_before: None }
    }

    #[test]
    fn dates_count_days_from_the_epoch() {
        assert_eq!(days_since_epoch(&Date { year: 1970, month: 1, day: 1 }), 0);
        assert_eq!(days_since_epoch(&Date { year: 2000, month: 3, day: 1 }), 11_017);
        assert_eq!(days_since_epoch(&Date { year: 2026, month: 11, day: 24 }), 20_781);
    }

    #[test]
    fn added_removed_and_counted_update_stock() {
        let mut inventory = Inventory::default();
        assert!(inventory.apply("1", &change("Egg", InventoryAction::Added, 6, QuantityUnit::Pieces)));
        assert!(inventory.apply("2", &change("egg", InventoryAction::Removed, 2, QuantityUnit::Pieces)));
        assert_eq!(inventory.items["egg"].amount, 4);
        assert!(inventory.apply("3", &change("egg", InventoryAction::Counted, 10, QuantityUnit::Pieces)));
        assert_eq!(inventory.items["egg"].amount, 10);
        assert!(inventory.apply("4", &change("egg", InventoryAction::Removed, 11, QuantityUnit::Pieces)));
        assert!(!inventory.items.contains_key("egg"));
    }

    #[test]
    fn redelivered_events_are_applied_once() {
        let mut inventory = Inventory::default();
        let added = change("butter", InventoryAction::Added, 250, QuantityUnit::Grams);
        assert!(inventory.apply("e-1", &added));
        assert!(!inventory.apply("e-1", &added));
        assert_eq!(inventory.items["butter"].amount, 250);
    }

    #[test]
    fn earliest_best_before_is_kept() {
        let mut inventory = Inventory::default();
        let mut first = change("milk", InventoryAction::Added, 1000, QuantityUnit::Millilitres);
        first.best_before = Some(Date { year: 2026, month: 12, day: 3 });
        let mut second = first.clone();
        second.best_before = Some(Date { year: 2026, month: 11, day: 28 });
        inventory.apply("a", &first);
        inventory.apply("b", &second);
        assert_eq!(
            inventory.items["milk"].best_before_day,
            Some(days_since_epoch(&Date { year: 2026, month: 11, day: 28 }))
        );
        assert_eq!(inventory.items["milk"].amount, 2000);
    }
}
