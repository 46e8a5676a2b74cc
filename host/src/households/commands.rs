//! Commands plugins queued for devices, waiting until the appliance fetches them:
//! the `device-commands` bucket, keys `device \0 sequence`.

use crate::HostError;
use crate::storage::{Bucket, BucketExt, Storage, decode_json, encode_json, scoped_key};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A command waiting for its appliance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct QueuedCommand {
    /// `cmd-` and a sequence number.
    pub id: String,
    /// The plugin that sent it.
    pub plugin: String,
    /// `set-temperature`, `preheat`, `start-program` or `stop`.
    pub command: String,
    /// The argument: a temperature in 0.01 °C or a program name.
    pub argument: Option<serde_json::Value>,
    /// When it was queued, ms since the epoch.
    pub time_ms: u64,
}

/// The per-device command queues, keyed `device \0 sequence`.
#[derive(Clone)]
pub struct CommandQueue {
    ids: Arc<dyn Storage>,
    bucket: Arc<dyn Bucket>,
}

impl CommandQueue {
    /// Opens the bucket.
    pub fn open(storage: Arc<dyn Storage>) -> Result<Self, HostError> {
        Ok(CommandQueue { bucket: storage.bucket("device-commands")?, ids: storage })
    }

    /// Queues a command for the device; returns its id.
    pub fn push(&self, device: &str, mut command: QueuedCommand) -> Result<String, HostError> {
        let sequence = self.ids.next_id()?;
        command.id = format!("cmd-{sequence}");
        let key = [&scoped_key(device, "")[..], &sequence.to_be_bytes()].concat();
        self.bucket.put(&key, &encode_json(&command)?)?;
        Ok(command.id)
    }

    /// Drops the device's pending commands; returns how many.
    pub fn erase_device(&self, device: &str) -> Result<usize, HostError> {
        Ok(self.bucket.delete_prefix(&scoped_key(device, ""))?)
    }

    /// Takes the device's pending commands, oldest first.
    pub fn take(&self, device: &str) -> Result<Vec<QueuedCommand>, HostError> {
        let mut commands = Vec::new();
        for (key, entry) in self.bucket.scan(&scoped_key(device, ""))? {
            // Taken once: a command another fetch took meanwhile is not returned twice.
            match self.bucket.delete_if(&key, entry.revision) {
                Ok(()) => commands.push(decode_json(&entry.value)?),
                Err(crate::storage::StorageError::Conflict) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(commands)
    }
}
