//! Orders and the revenue-share ledger: what households decide on the orders plugins
//! propose, and what each confirmed order books.

pub mod ledger;
pub mod orders;

use crate::HostError;
use crate::events::log::{EventLog, StoredEvent};
use crate::storage::Storage;
use ledger::{Ledger, LedgerEntry, Statement};
use orders::{Order, OrderStatus, Orders};
use std::sync::Arc;

/// Orders, the ledger, and the log the confirmations are announced in.
pub struct Commerce {
    orders: Orders,
    ledger: Ledger,
    log: Arc<dyn EventLog>,
    storage: Arc<dyn Storage>,
}

impl Commerce {
    /// Opens the ledger over `storage`; `orders` is the store plugins propose into.
    pub fn open(storage: Arc<dyn Storage>, orders: Orders, log: Arc<dyn EventLog>) -> Result<Self, HostError> {
        Ok(Commerce { ledger: Ledger::open(&*storage)?, orders, log, storage })
    }

    /// The household's orders, optionally only those with `status`, oldest first.
    pub fn of_household(&self, household: &str, status: Option<OrderStatus>) -> Result<Vec<Order>, HostError> {
        self.orders.of_household(household, status)
    }

    /// Erases a household's orders (confirmed ones stay without the household).
    pub fn erase_household(&self, household: &str) -> Result<usize, HostError> {
        self.orders.erase_household(household)
    }

    /// The household confirms an order: it is booked in the ledger (once, however
    /// often this is called, by however many hosts) and the plugin receives
    /// `household.order.confirmed`.
    pub async fn confirm(&self, household: &str, plugin: &str, order_id: &str) -> Result<LedgerEntry, HostError> {
        let mut order = self.household_order(household, plugin, order_id)?;
        if order.status == OrderStatus::Declined {
            return Err(HostError::InvalidInput(format!("order {order_id} was declined")));
        }
        let decided = order.decided_ms.unwrap_or_else(crate::clock::now_ms);
        let key = format!("{plugin}/{order_id}");
        let entry = self.ledger.book(&key, &order.publisher, plugin, &order.currency, order.total_minor, decided)?;
        if order.status == OrderStatus::Pending {
            order.status = OrderStatus::Confirmed;
            order.decided_ms = Some(decided);
            self.orders.put(&order)?;
        }
        let notice = StoredEvent::order_confirmed(household, plugin, order_id, decided);
        // The append's flush also makes the booking durable.
        self.log.append(vec![notice]).await?;
        Ok(entry)
    }

    /// The household declines an order.
    pub async fn decline(&self, household: &str, plugin: &str, order_id: &str) -> Result<(), HostError> {
        let mut order = self.household_order(household, plugin, order_id)?;
        match order.status {
            OrderStatus::Declined => return Ok(()),
            OrderStatus::Confirmed => return Err(HostError::InvalidInput(format!("order {order_id} is confirmed"))),
            OrderStatus::Pending => {}
        }
        order.status = OrderStatus::Declined;
        order.decided_ms = Some(crate::clock::now_ms());
        self.orders.put(&order)?;
        self.storage.flush().await?;
        Ok(())
    }

    fn household_order(&self, household: &str, plugin: &str, order_id: &str) -> Result<Order, HostError> {
        self.orders
            .get(plugin, order_id)?
            .filter(|order| order.household == household)
            .ok_or_else(|| HostError::NotFound(format!("order {order_id} of {plugin} for this household")))
    }

    /// Sets the publisher's share of gross, in basis points.
    pub fn set_agreement(&self, publisher: &str, publisher_bp: u32) -> Result<(), HostError> {
        crate::validate::publisher(publisher)?;
        self.ledger.set_agreement(publisher, publisher_bp)
    }

    /// Every agreement, by publisher.
    pub fn agreements(&self) -> Result<Vec<(String, u32)>, HostError> {
        self.ledger.agreements()
    }

    /// The publisher's statement for a month (`YYYY-MM`).
    pub fn statement(&self, publisher: &str, month: &str) -> Result<Statement, HostError> {
        self.ledger.statement(publisher, month)
    }
}
