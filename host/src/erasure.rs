//! Erasing a household from every store the host keeps.

use crate::Host;
use crate::HostError;
use crate::events::log::StoredEvent;
use crate::households::refs::RefKind;
use serde::Serialize;

/// What an erasure removed, per store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Erasure {
    /// Household-scoped kv entries of every installed plugin.
    pub kv_entries: usize,
    /// Plugins that had the household's consent and are told it was withdrawn.
    pub plugins_told: usize,
    /// Devices removed.
    pub devices: usize,
    /// Commands that waited for those devices.
    pub commands: usize,
    /// The household's events still in the log, now tombstones.
    pub log_events: u64,
    /// Dead letters of its events.
    pub dead_letters: usize,
    /// Orders removed, or (confirmed) kept without the household.
    pub orders: usize,
    /// Notifications.
    pub notifications: usize,
    /// Refs plugins held of the household and its devices.
    pub refs: usize,
    /// The devices removed (the API deletes their tokens too); not part of the answer.
    #[serde(skip)]
    pub device_ids: Vec<String>,
}

impl Host {
    /// Erases a household from every store: each installed plugin's household-scoped
    /// kv data (keys under its ref of the household), whatever the plugin's state
    /// (running, disabled, quarantined; the version kept for rollback shares its data),
    /// grants (each plugin that had one is told, by its ref only), refs, notifications,
    /// pending and declined orders, dead letters, the household's events still in the
    /// log and their dedupe entries, provider preferences, its devices with their
    /// pending commands, and the household record. Confirmed orders stay for accounting
    /// without the household. Erasing an unknown (or already erased) household erases
    /// nothing and succeeds.
    pub async fn erase_household(&self, household: &str) -> Result<Erasure, HostError> {
        let inner = &self.inner;
        let mut erasure = Erasure::default();
        let plugins = inner.plugins.installed()?;
        let consented: Vec<bool> = plugins
            .iter()
            .map(|plugin| inner.households.grant_of(household, plugin).map(|grant| grant.is_some()))
            .collect::<Result<_, _>>()?;
        // Consent goes first: from here on nothing of the household is delivered. A
        // run of events a plugin is already in stops before its next event; waiting
        // for each lane once lets such a run end before the plugin's data is erased.
        let devices = inner.households.remove_household(household)?;
        for link in inner.directory.links() {
            link.pool.barrier().await;
        }
        let mut notices = Vec::new();
        for (plugin, consented) in plugins.into_iter().zip(consented) {
            let reference = inner.refs.reference(&plugin, RefKind::Household, household);
            erasure.kv_entries += inner.kv.delete_prefix(&plugin, &format!("{reference}/"))?;
            if consented {
                notices.push(StoredEvent::consent_revoked(reference, plugin, true)?);
            }
        }
        erasure.plugins_told = notices.len();
        for device in &devices {
            erasure.commands += inner.commands.erase_device(device)?;
        }
        erasure.devices = devices.len();
        erasure.log_events = inner.log.erase_household(household)?;
        erasure.dead_letters = inner.delivery.dead_letters.erase_household(household)?;
        erasure.orders = inner.commerce.erase_household(household)?;
        erasure.notifications = inner.notifications.erase(household)?;
        inner.router.erase_household(household)?;
        let ids: Vec<&str> = std::iter::once(household).chain(devices.iter().map(String::as_str)).collect();
        erasure.refs = inner.refs.erase(&ids)?;
        erasure.device_ids = devices;
        // The notices carry only refs; appending flushes everything above with them.
        if notices.is_empty() {
            inner.storage.flush().await?;
        } else {
            inner.log.append(notices).await?;
        }
        tracing::info!(?erasure, "household erased");
        Ok(erasure)
    }
}
