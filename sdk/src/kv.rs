//! The plugin's durable key-value store.
//!
//! Keys are strings, values bytes. [`get`] and [`set`] store any serde value as JSON;
//! [`get_bytes`] and [`set_bytes`] store raw bytes. Each write is durable when it
//! returns. The host enforces a per-value size and a per-plugin quota; hitting one is
//! an error the plugin can handle, never a trap.

use crate::bindings::hearth::plugin::kv as wit;
use crate::{PluginError, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use wit::KvError;

/// The value under `key` decoded from JSON, or `None` when the key is absent.
pub fn get<T: DeserializeOwned>(key: &str) -> Result<Option<T>> {
    match wit::get(key)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|error| {
            PluginError::Internal(format!("kv value under {key:?} is not the expected type: {error}"))
        }),
    }
}

/// Stores `value` as JSON under `key`.
pub fn set<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec(value)
        .map_err(|error| PluginError::Internal(format!("encoding kv value for {key:?}: {error}")))?;
    Ok(wit::set(key, &bytes)?)
}

/// The raw bytes under `key`.
pub fn get_bytes(key: &str) -> Result<Option<Vec<u8>>, KvError> {
    wit::get(key)
}

/// Stores raw bytes under `key`.
pub fn set_bytes(key: &str, value: &[u8]) -> Result<(), KvError> {
    wit::set(key, value)
}

/// Removes `key`; removing a missing key succeeds.
pub fn delete(key: &str) -> Result<(), KvError> {
    wit::delete(key)
}

/// The keys starting with `prefix`, in byte order.
pub fn list_keys(prefix: &str) -> Result<Vec<String>, KvError> {
    wit::list_keys(prefix)
}

impl From<KvError> for PluginError {
    fn from(error: KvError) -> Self {
        match error {
            KvError::InvalidKey(message) => PluginError::Internal(format!("kv: invalid key: {message}")),
            KvError::ValueTooLarge(message) => PluginError::Internal(format!("kv: value too large: {message}")),
            KvError::QuotaExceeded(message) => PluginError::Unavailable(format!("kv: quota exceeded: {message}")),
            KvError::Unavailable(message) => PluginError::Unavailable(format!("kv: {message}")),
            KvError::NotGranted(message) => PluginError::Internal(format!("kv: {message}")),
        }
    }
}

/// Stores `value` only if the current value is `expected` (`None`: the key is
/// absent); returns whether it did. For counters and claims shared by instances.
pub fn compare_and_swap(key: &str, expected: Option<&[u8]>, value: &[u8]) -> Result<bool, KvError> {
    wit::compare_and_swap(key, expected, value)
}

/// The key for `key` of one household. Data under such keys belongs to the household:
/// when it leaves the platform, the host erases it in every plugin.
pub fn household_key(household: &str, key: &str) -> String {
    format!("{household}/{key}")
}
