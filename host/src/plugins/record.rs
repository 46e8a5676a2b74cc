//! An installed plugin as the host stores it (the `plugins` bucket, by plugin id).

use crate::HostError;
use crate::storage::decode_json;
use hearth_package::{Capabilities, Manifest, RequestedLimits};
use serde::{Deserialize, Serialize};

/// An installed plugin: its manifest, component, the operator's decisions, and the
/// version it replaced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginRecord {
    /// The manifest as installed (TOML).
    pub manifest: String,
    /// Hex SHA-256 of the component (its key in the `components` bucket).
    pub component: String,
    /// Disabled plugins stay installed but do not run; their events wait in the log.
    #[serde(default)]
    pub disabled: bool,
    /// What the operator granted, when less than the manifest requests.
    #[serde(default)]
    pub grants: Option<Capabilities>,
    /// The operator's limits for this plugin, when tighter than the host's caps.
    #[serde(default)]
    pub limits: Option<RequestedLimits>,
    /// The version this one replaced, kept for a rollback.
    #[serde(default)]
    pub previous: Option<Box<PluginRecord>>,
}

impl PluginRecord {
    /// A stored record.
    pub fn decode(bytes: &[u8]) -> Result<Self, HostError> {
        Ok(decode_json(bytes)?)
    }

    /// The manifest as installed.
    pub fn manifest(&self) -> Result<Manifest, HostError> {
        Ok(self.manifest.parse()?)
    }

    /// Component hashes this record and the versions it keeps refer to.
    pub fn components(&self) -> Vec<&str> {
        let mut hashes = vec![self.component.as_str()];
        if let Some(previous) = &self.previous {
            hashes.extend(previous.components());
        }
        hashes
    }

    /// The manifest the plugin runs under: its request, cut to the operator's grants
    /// and limits.
    pub fn effective_manifest(&self) -> Result<Manifest, HostError> {
        let mut manifest = self.manifest()?;
        if let Some(grants) = &self.grants {
            manifest.capabilities = grants.clone();
        }
        if let Some(caps) = &self.limits {
            let cut = |requested: Option<u32>, cap: Option<u32>| match (requested, cap) {
                (Some(requested), Some(cap)) => Some(requested.min(cap)),
                (requested, cap) => cap.or(requested),
            };
            let limits = &mut manifest.limits;
            limits.memory_mb = cut(limits.memory_mb, caps.memory_mb);
            limits.timeout_ms = cut(limits.timeout_ms, caps.timeout_ms);
            limits.service_timeout_ms = cut(limits.service_timeout_ms, caps.service_timeout_ms);
            limits.concurrency = cut(limits.concurrency, caps.concurrency);
        }
        Ok(manifest)
    }
}
