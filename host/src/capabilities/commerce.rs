//! `hearth:plugin/commerce`: orders a plugin proposes to a household.
//!
//! A proposal is validated (ISO 4217 currency, integer minor-unit prices, totals that
//! cannot overflow) and stored as pending, idempotent by the plugin's order id. The
//! household confirms or declines through the host; a confirmation books the order in
//! the [`Ledger`](crate::commerce::ledger::Ledger).

use super::{Capability, PluginStore, Setup, Ungranted};
use crate::HostError;
use crate::bindings::hearth::plugin::commerce::{self as wit, CommerceError, Host};
use crate::commerce::orders::{CURRENCIES, LineItem, MAX_ITEMS, MAX_TOTAL_MINOR, Order, OrderStatus, Orders};
use crate::households::refs::Pseudonyms;
use crate::households::{Households, consenting_household};
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker};

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
    /// Set when the manifest does not request commerce: every call is refused.
    ungranted: Option<Ungranted>,
}

impl Host for CommerceCtx {
    fn propose(&mut self, proposal: wit::OrderProposal) -> wasmtime::Result<Result<(), CommerceError>> {
        if let Some(ungranted) = &self.ungranted {
            return Ok(Err(CommerceError::NotGranted(ungranted.refuse("commerce.propose"))));
        }
        let resolved = consenting_household(&self.refs, &self.households, &self.plugin, &proposal.household)
            .map_err(|error| super::backend_failed("commerce", error))?;
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
        let storage = |error: HostError| super::backend_failed("commerce", error);
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

impl Capability for CommerceCtx {
    fn new(setup: &Setup<'_>) -> Self {
        let backends = setup.backends;
        CommerceCtx {
            plugin: setup.plugin.clone(),
            publisher: setup.grants.publisher.clone(),
            orders: backends.orders.clone(),
            refs: backends.refs.clone(),
            households: backends.households.clone(),
            ungranted: Ungranted::unless(setup.grants.commerce, super::manifest_line::COMMERCE, setup),
        }
    }

    fn add_to_linker<T: PluginStore>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut Self) -> wasmtime::Result<()> {
        crate::bindings::hearth::plugin::commerce::add_to_linker::<T, HasSelf<Self>>(linker, get)?;
        crate::bindings::v0_1::hearth::plugin::commerce::add_to_linker::<T, HasSelf<Self>>(linker, get)
    }
}

/// `hearth:plugin/commerce@0.1.0`: the same call. 0.1 has no `not-granted`: a refusal
/// is `invalid`, with the same message.
mod v0_1 {
    use super::CommerceCtx;
    use super::wit::{CommerceError, LineItem, OrderProposal};
    use crate::bindings::v0_1::hearth::plugin::commerce::{self as old, Host};

    impl Host for CommerceCtx {
        fn propose(&mut self, proposal: old::OrderProposal) -> wasmtime::Result<Result<(), old::CommerceError>> {
            let proposal = OrderProposal {
                order_id: proposal.order_id,
                household: proposal.household,
                currency: proposal.currency,
                items: proposal
                    .items
                    .into_iter()
                    .map(|item| LineItem {
                        sku: item.sku,
                        name: item.name,
                        quantity: item.quantity,
                        unit_price_minor: item.unit_price_minor,
                    })
                    .collect(),
                note: proposal.note,
            };
            Ok(super::Host::propose(self, proposal)?.map_err(|error| match error {
                CommerceError::UnknownHousehold(message) => old::CommerceError::UnknownHousehold(message),
                CommerceError::Conflict(message) => old::CommerceError::Conflict(message),
                CommerceError::Invalid(message) | CommerceError::NotGranted(message) => {
                    old::CommerceError::Invalid(message)
                }
            }))
        }
    }
}
