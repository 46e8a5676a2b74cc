//! What every consumer of a host shares, and delivering one event again by hand.

use super::dead_letters::DeadLetters;
use super::log::{EventLog, Seq, StoredEvent};
use crate::HostError;
use crate::bindings::Event;
use crate::cluster::Leases;
use crate::config::DeliveryConfig;
use crate::households::Households;
use crate::households::refs::{Pseudonyms, RefKind};
use crate::runtime::pool::PluginLink;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Everything consumers share.
pub struct Delivery {
    /// The event log.
    pub log: Arc<dyn EventLog>,
    /// Consent.
    pub households: Households,
    /// What plugins see instead of ids.
    pub refs: Pseudonyms,
    /// Events no retry could deliver.
    pub dead_letters: DeadLetters,
    /// Retries, batches, quarantine.
    pub config: DeliveryConfig,
    /// Which partitions of each consumer this host delivers.
    pub leases: Leases,
}

impl Delivery {
    /// Delivers a dead letter again the way a consumer would (consent is checked
    /// again, the breaker and counters see the attempt); on success it is removed, on
    /// failure it stays with the new error.
    pub async fn redrive(&self, link: &PluginLink, seq: Seq) -> Result<(), HostError> {
        let plugin = &*link.id;
        let mut letter = self
            .dead_letters
            .get(plugin, seq)?
            .ok_or_else(|| HostError::NotFound(format!("dead letter {seq} of {plugin}")))?;
        let event = &letter.event;
        if !consents(&self.households, plugin, event)? {
            return Err(HostError::InvalidInput("the household no longer consents to this plugin".into()));
        }
        let lane = link.pool.lane_of(event.device.as_deref(), &event.household);
        let wit_event = pseudonymise_with(event, |kind, id| self.refs.mint(plugin, kind, id))?;
        let started = std::time::Instant::now();
        let result = link.pool.on_event(lane, wit_event).await;
        link.counters.event_latency.record(started.elapsed());
        match result {
            Ok(()) => {
                link.breaker.record_event_success();
                link.counters.delivered.fetch_add(1, Ordering::Relaxed);
                self.dead_letters.remove(plugin, seq)?;
                Ok(())
            }
            Err(error) => {
                link.counters.failed.fetch_add(1, Ordering::Relaxed);
                link.breaker.record_event_failure(lane, &error.to_string());
                letter.attempts += 1;
                letter.error = error.to_string();
                letter.time_ms = crate::clock::now_ms();
                self.dead_letters.put(plugin, &letter)?;
                Err(HostError::Delivery(error))
            }
        }
    }
}

/// Whether the household consents to `plugin` receiving `event`. Events the host
/// addresses to the plugin (a revocation notice, an order it proposed) always do.
pub(super) fn consents(households: &Households, plugin: &str, event: &StoredEvent) -> Result<bool, HostError> {
    if event.target.is_some() {
        return Ok(true);
    }
    households.allows(plugin, &event.household, event.device.as_deref())
}

/// The event with household and device replaced by what `mint` gives; a household
/// that already is a ref (an erasure's notice) is passed as it is.
pub(super) fn pseudonymise_with(
    event: &StoredEvent,
    mint: impl Fn(RefKind, &str) -> Result<String, HostError>,
) -> Result<Event, HostError> {
    let household =
        if event.pseudonymous { event.household.clone() } else { mint(RefKind::Household, &event.household)? };
    Ok(Event {
        id: event.id.clone(),
        topic: event.topic.clone(),
        time_ms: event.time_ms,
        household,
        device: event.device.as_deref().map(|device| mint(RefKind::Device, device)).transpose()?,
        body: event.body.clone(),
    })
}
