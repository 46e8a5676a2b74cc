//! Following the other hosts of a cluster: a plugin record or a quarantine written
//! through any host takes effect on this one. Installs, upgrades, rollbacks, grant and
//! limit changes start the recorded version here (with the same hand-over as a local
//! upgrade); disabling and removal stop it; a quarantine stops its delivery here too,
//! and resuming anywhere resumes it here.

use super::Plugins;
use super::record::PluginRecord;
use crate::HostError;
use crate::runtime::breaker::Quarantine;
use crate::storage::Change;
use std::sync::Arc;

enum Followed {
    Record(Change),
    Quarantine(Change),
}

impl Plugins {
    /// Starts following the records and quarantines every host writes; the task ends
    /// when the plugins are dropped.
    pub fn follow(self: &Arc<Self>) -> Result<tokio::task::JoinHandle<()>, HostError> {
        let mut records = self.records.watch(b"")?;
        let mut quarantines = self.quarantine.watch(b"")?;
        let plugins = Arc::downgrade(self);
        Ok(tokio::spawn(async move {
            loop {
                let followed = tokio::select! {
                    Some(change) = records.next() => Followed::Record(change),
                    Some(change) = quarantines.next() => Followed::Quarantine(change),
                    else => return,
                };
                let Some(plugins) = plugins.upgrade() else { return };
                let (plugin, outcome) = match followed {
                    Followed::Record(change) => {
                        let plugin = String::from_utf8_lossy(&change.key).into_owned();
                        let outcome = plugins.reconcile(&plugin).await;
                        (plugin, outcome)
                    }
                    Followed::Quarantine(change) => {
                        let plugin = String::from_utf8_lossy(&change.key).into_owned();
                        let stored: Option<Quarantine> =
                            change.entry.and_then(|entry| serde_json::from_slice(&entry.value).ok());
                        if let Some(link) = plugins.directory.link(&plugin) {
                            link.breaker.adopt(stored);
                        }
                        (plugin, Ok(()))
                    }
                };
                if let Err(error) = outcome {
                    tracing::error!(%plugin, %error, "following another host's change failed");
                }
            }
        }))
    }

    /// Makes what runs here match the plugin's stored record (read again: changes may
    /// have come in since the one that woke us).
    async fn reconcile(&self, plugin: &str) -> Result<(), HostError> {
        let _changing = self.changing.lock().await;
        let record = match self.records.get(plugin.as_bytes())? {
            Some(entry) => Some(PluginRecord::decode(&entry.value)?),
            None => None,
        };
        let running = self
            .directory
            .read()
            .get(plugin)
            .map(|running| (running.info.component_hash.clone(), running.info.manifest.clone()));
        match record {
            Some(record) if !record.disabled => {
                let manifest = record.effective_manifest()?;
                if running.as_ref() != Some(&(record.component.clone(), manifest.clone())) {
                    let component = self.component_of(plugin, &record)?;
                    let loaded = self.start(manifest, component, record.component).await?;
                    tracing::info!(plugin, version = %loaded.manifest.plugin.version, "started as recorded by another host");
                }
            }
            _ => {
                if self.stop(plugin).await? {
                    tracing::info!(plugin, "stopped as recorded by another host");
                }
            }
        }
        Ok(())
    }
}
