//! The audit log: every state-changing operator request, who made it and to what,
//! recorded before it is carried out (so refused attempts show too).
//! Values (config values may be secrets) are never recorded, only what was changed.

use hearth_host::HostError;
use hearth_host::storage::{Bucket, BucketExt, Storage, decode_json, encode_json};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One recorded operator request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// When, ms since the epoch.
    pub time_ms: u64,
    /// The id of the operator token used (never the token).
    pub token: String,
    /// What was done, e.g. `plugin.remove`.
    pub action: String,
    /// To what.
    pub target: String,
}

/// The audit log: the `audit` bucket, keyed by increasing id.
#[derive(Clone)]
pub struct Audit {
    storage: Arc<dyn Storage>,
    bucket: Arc<dyn Bucket>,
}

impl Audit {
    /// Opens the bucket.
    pub fn open(storage: Arc<dyn Storage>) -> Result<Self, HostError> {
        Ok(Audit { bucket: storage.bucket("audit")?, storage })
    }

    /// Records a request, durably, before it is carried out.
    pub async fn record(&self, token: &str, action: &str, target: &str) -> Result<(), HostError> {
        let entry = AuditEntry {
            time_ms: hearth_host::clock::now_ms(),
            token: token.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
        };
        self.bucket.put(&self.storage.next_id()?.to_be_bytes(), &encode_json(&entry)?)?;
        self.storage.flush().await?;
        Ok(())
    }

    /// Replaces the erased ids in every entry's target by `(erased)`: the action and
    /// who took it stay accountable, the household does not stay identifiable.
    pub async fn redact(&self, ids: &[&str]) -> Result<usize, HostError> {
        let mut redacted = 0;
        for (key, stored) in self.bucket.scan(b"")? {
            let mut entry: AuditEntry = decode_json(&stored.value)?;
            let words: Vec<&str> = entry.target.split(' ').collect();
            if !words.iter().any(|word| ids.contains(word)) {
                continue;
            }
            entry.target = words
                .iter()
                .map(|word| if ids.contains(word) { "(erased)" } else { word })
                .collect::<Vec<_>>()
                .join(" ");
            self.bucket.put_json(&key, &entry)?;
            redacted += 1;
        }
        self.storage.flush().await?;
        Ok(redacted)
    }

    /// The newest `limit` entries, newest first.
    pub fn recent(&self, limit: usize) -> Result<Vec<AuditEntry>, HostError> {
        let stored = self.bucket.scan(b"")?;
        Ok(stored.iter().rev().take(limit).map(|(_, entry)| decode_json(&entry.value)).collect::<Result<_, _>>()?)
    }
}
