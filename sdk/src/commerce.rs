//! Orders proposed to a household. Prices are integer minor units (cents) of an
//! ISO 4217 currency. The household confirms or declines in its app; the plugin then
//! receives an [`EventBody::OrderConfirmed`](crate::EventBody::OrderConfirmed) event.

use crate::bindings::hearth::plugin::commerce as wit;
pub use wit::{CommerceError, LineItem, OrderProposal};

/// Proposes an order. Proposing the same order id again with the same content does
/// nothing, so a retried event may propose again safely.
///
/// Order ids are unique per plugin, across every household it serves, not per
/// household: build them from the household's ref (e.g. `format!("{household}-{event_id}")`),
/// or the second household to get order `refill-1` gets a conflict instead.
pub fn propose(proposal: &OrderProposal) -> Result<(), CommerceError> {
    wit::propose(proposal)
}

impl From<CommerceError> for crate::PluginError {
    fn from(error: CommerceError) -> Self {
        match error {
            CommerceError::UnknownHousehold(message) => crate::PluginError::NotFound(format!("commerce: {message}")),
            CommerceError::Invalid(message) | CommerceError::Conflict(message) | CommerceError::NotGranted(message) => {
                crate::PluginError::Internal(format!("commerce: {message}"))
            }
        }
    }
}
