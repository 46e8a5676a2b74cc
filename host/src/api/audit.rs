//! The audit log: every state-changing operator request, who made it and to what,
//! recorded before it is carried out (so refused attempts show too).
//! Values (config values may be secrets) are never recorded, only what was changed.

use crate::HostError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub time_ms: u64,
    /// The id of the operator token used (never the token).
    pub token: String,
    pub action: String,
    pub target: String,
}

#[derive(Debug, Clone)]
pub struct Audit {
    db: sled::Db,
    tree: sled::Tree,
}

impl Audit {
    pub fn open(db: &sled::Db) -> Result<Self, HostError> {
        Ok(Audit { db: db.clone(), tree: db.open_tree("audit")? })
    }

    pub fn record(&self, token: &str, action: &str, target: &str) -> Result<(), HostError> {
        let entry = AuditEntry {
            time_ms: crate::clock::now_ms(),
            token: token.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
        };
        let bytes = serde_json::to_vec(&entry).map_err(|error| HostError::Corrupt(error.to_string()))?;
        self.tree.insert(self.db.generate_id()?.to_be_bytes(), bytes)?;
        self.tree.flush()?;
        Ok(())
    }

    /// Replaces the erased ids in every entry's target by `(erased)`: the action and
    /// who took it stay accountable, the household does not stay identifiable.
    pub fn redact(&self, ids: &[&str]) -> Result<usize, HostError> {
        let mut redacted = 0;
        for entry in self.tree.iter() {
            let (key, value) = entry?;
            let mut entry: AuditEntry =
                serde_json::from_slice(&value).map_err(|error| HostError::Corrupt(format!("audit: {error}")))?;
            let words: Vec<&str> = entry.target.split(' ').collect();
            if !words.iter().any(|word| ids.contains(word)) {
                continue;
            }
            entry.target = words
                .iter()
                .map(|word| if ids.contains(word) { "(erased)" } else { word })
                .collect::<Vec<_>>()
                .join(" ");
            let bytes = serde_json::to_vec(&entry).map_err(|error| HostError::Corrupt(error.to_string()))?;
            self.tree.insert(key, bytes)?;
            redacted += 1;
        }
        self.tree.flush()?;
        Ok(redacted)
    }

    /// The newest `limit` entries, newest first.
    pub fn recent(&self, limit: usize) -> Result<Vec<AuditEntry>, HostError> {
        self.tree
            .iter()
            .values()
            .rev()
            .take(limit)
            .map(|value| serde_json::from_slice(&value?).map_err(|error| HostError::Corrupt(format!("audit: {error}"))))
            .collect()
    }
}
