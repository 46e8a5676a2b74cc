//! Events a plugin failed to handle after every retry, kept per plugin with the last
//! error for an operator to inspect and re-drive.

use super::log::{Seq, StoredEvent};
use crate::HostError;
use crate::storage::{Bucket, BucketExt, Storage, decode_json, scoped_key};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// An event a plugin could not handle, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The event's position in the log.
    pub seq: Seq,
    /// The event as stored.
    pub event: StoredEvent,
    /// The last failure.
    pub error: String,
    /// Delivery attempts made.
    pub attempts: u32,
    /// When it was dead-lettered (or last re-driven without success).
    pub time_ms: u64,
}

/// Every plugin's dead letters: the `dead-letters` bucket, keys `plugin \0 seq`.
#[derive(Clone)]
pub struct DeadLetters {
    bucket: Arc<dyn Bucket>,
}

fn key(plugin: &str, seq: Seq) -> Vec<u8> {
    [&scoped_key(plugin, "")[..], &seq.to_be_bytes()].concat()
}

impl DeadLetters {
    /// Opens the bucket.
    pub fn open(storage: &dyn Storage) -> Result<Self, HostError> {
        Ok(DeadLetters { bucket: storage.bucket("dead-letters")? })
    }

    /// Stores (or replaces) a dead letter of `plugin`.
    pub fn put(&self, plugin: &str, letter: &DeadLetter) -> Result<(), HostError> {
        self.bucket.put_json(&key(plugin, letter.seq), letter)?;
        Ok(())
    }

    /// The plugin's dead letters, oldest event first.
    pub fn list(&self, plugin: &str) -> Result<Vec<DeadLetter>, HostError> {
        let stored = self.bucket.scan(&scoped_key(plugin, ""))?;
        Ok(stored.iter().map(|(_, entry)| decode_json(&entry.value)).collect::<Result<_, _>>()?)
    }

    /// One dead letter.
    pub fn get(&self, plugin: &str, seq: Seq) -> Result<Option<DeadLetter>, HostError> {
        Ok(self.bucket.get_json(&key(plugin, seq))?)
    }

    /// Drops every plugin's dead letters of the household's events; returns how many.
    pub fn erase_household(&self, household: &str) -> Result<usize, HostError> {
        let mut erased = 0;
        for (key, entry) in self.bucket.scan(b"")? {
            let letter: DeadLetter = decode_json(&entry.value)?;
            if letter.event.household == household && !letter.event.pseudonymous {
                self.bucket.delete(&key)?;
                erased += 1;
            }
        }
        Ok(erased)
    }

    /// Removes one dead letter; returns whether it existed.
    pub fn remove(&self, plugin: &str, seq: Seq) -> Result<bool, HostError> {
        let key = key(plugin, seq);
        let existed = self.bucket.get(&key)?.is_some();
        self.bucket.delete(&key)?;
        Ok(existed)
    }

    /// Removes every dead letter of `plugin` (it was uninstalled); returns how many.
    pub fn remove_plugin(&self, plugin: &str) -> Result<usize, HostError> {
        Ok(self.bucket.delete_prefix(&scoped_key(plugin, ""))?)
    }
}
