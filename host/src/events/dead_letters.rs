//! Events a plugin failed to handle after every retry, kept per plugin with the last
//! error for an operator to inspect and re-drive.

use super::log::{Seq, StoredEvent};
use crate::HostError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The event's position in the log.
    pub seq: Seq,
    pub event: StoredEvent,
    /// The last failure.
    pub error: String,
    pub attempts: u32,
    /// When it was dead-lettered (or last re-driven without success).
    pub time_ms: u64,
}

#[derive(Debug, Clone)]
pub struct DeadLetters {
    tree: sled::Tree,
}

fn key(plugin: &str, seq: Seq) -> Vec<u8> {
    let mut key = Vec::with_capacity(plugin.len() + 9);
    key.extend_from_slice(plugin.as_bytes());
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn decode(bytes: &[u8]) -> Result<DeadLetter, HostError> {
    serde_json::from_slice(bytes).map_err(|error| HostError::Corrupt(format!("dead letter: {error}")))
}

impl DeadLetters {
    pub fn open(db: &sled::Db) -> Result<Self, HostError> {
        Ok(DeadLetters { tree: db.open_tree("dead-letters")? })
    }

    pub fn put(&self, plugin: &str, letter: &DeadLetter) -> Result<(), HostError> {
        let bytes = serde_json::to_vec(letter).map_err(|error| HostError::Corrupt(error.to_string()))?;
        self.tree.insert(key(plugin, letter.seq), bytes)?;
        Ok(())
    }

    /// The plugin's dead letters, oldest event first.
    pub fn list(&self, plugin: &str) -> Result<Vec<DeadLetter>, HostError> {
        let mut prefix = plugin.as_bytes().to_vec();
        prefix.push(0);
        self.tree.scan_prefix(prefix).values().map(|value| decode(&value?)).collect()
    }

    pub fn get(&self, plugin: &str, seq: Seq) -> Result<Option<DeadLetter>, HostError> {
        self.tree.get(key(plugin, seq))?.map(|bytes| decode(&bytes)).transpose()
    }

    /// Drops every plugin's dead letters of the household's events; returns how many.
    pub fn erase_household(&self, household: &str) -> Result<usize, HostError> {
        let mut erased = 0;
        for entry in self.tree.iter() {
            let (key, value) = entry?;
            let letter = decode(&value)?;
            if letter.event.household == household && !letter.event.pseudonymous {
                self.tree.remove(key)?;
                erased += 1;
            }
        }
        Ok(erased)
    }

    pub fn remove(&self, plugin: &str, seq: Seq) -> Result<bool, HostError> {
        Ok(self.tree.remove(key(plugin, seq))?.is_some())
    }
}
