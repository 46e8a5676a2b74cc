//! `hearth:plugin/kv`: durable key-value storage private to each plugin.
//!
//! Every key lives under the plugin's namespace, so no plugin can name another's data.
//! Each plugin has a storage quota (keys + values, default 10 MiB) and values are at
//! most 64 KiB; hitting either is a `kv-error` the plugin can handle. Keys that start
//! with a household ref and `/` belong to that household and are erased with it.
//! Writes land in the backend at once and are made durable before the call that made
//! them is acknowledged (the worker flushes once per call, not once per write).

use super::{Capability, PluginStore, Setup, Ungranted};
use crate::bindings::hearth::plugin::kv::{Host, KvError};
use crate::storage::{Bucket, BucketExt, Storage, StorageError, decode_u64, scoped_key};
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker};

/// Longest key a plugin may use, in bytes.
pub const MAX_KEY_BYTES: usize = 512;
/// Largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 << 10;
/// Storage per plugin (keys and values) unless the operator sets another.
pub const DEFAULT_QUOTA_BYTES: u64 = 10 << 20;

/// When a write may happen.
#[derive(Debug, Clone, Copy)]
pub enum Precondition<'a> {
    /// Whatever is stored.
    Always,
    /// Only if the current value is this (`None`: the key is absent).
    CurrentIs(Option<&'a [u8]>),
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The value was written (or deleted).
    Yes,
    /// The precondition did not hold; nothing changed.
    ConditionFailed,
    /// The write would take the plugin past its quota; nothing changed.
    OverQuota {
        /// Bytes the plugin stores now.
        used: u64,
    },
}

/// Every plugin's key-value data: the `kv` bucket (keys `plugin \0 key`) and each
/// plugin's usage in `kv-usage`.
#[derive(Clone)]
pub struct PluginKv {
    data: Arc<dyn Bucket>,
    usage: Arc<dyn Bucket>,
}

fn entry_size(key: &str, value: Option<&[u8]>) -> i64 {
    value.map_or(0, |value| (key.len() + value.len()) as i64)
}

impl PluginKv {
    /// Opens the buckets.
    pub fn open(storage: &dyn Storage) -> Result<Self, StorageError> {
        Ok(PluginKv { data: storage.bucket("kv")?, usage: storage.bucket("kv-usage")? })
    }

    fn add_usage(&self, plugin: &str, delta: i64) -> Result<(), StorageError> {
        self.usage.modify(plugin.as_bytes(), &mut |current| {
            Some(decode_u64(current).saturating_add_signed(delta).to_be_bytes().to_vec())
        })?;
        Ok(())
    }

    /// One value of a plugin.
    pub fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.data.value(&scoped_key(plugin, key))
    }

    /// Writes `value` (`None` deletes) under `precondition`, within `quota` bytes.
    pub fn write(
        &self,
        plugin: &str,
        key: &str,
        value: Option<&[u8]>,
        precondition: Precondition<'_>,
        quota: u64,
    ) -> Result<Written, StorageError> {
        let scoped = scoped_key(plugin, key);
        loop {
            let current = self.data.get(&scoped)?;
            let current_value = current.as_ref().map(|entry| entry.value.as_slice());
            if let Precondition::CurrentIs(expected) = precondition
                && current_value != expected
            {
                return Ok(Written::ConditionFailed);
            }
            let delta = entry_size(key, value) - entry_size(key, current_value);
            if delta > 0 {
                let used = self.usage(plugin)?;
                if used.saturating_add(delta as u64) > quota {
                    return Ok(Written::OverQuota { used });
                }
            }
            // Conditional on the revision read: if another instance of the plugin wrote
            // meanwhile, decide again.
            let written = match (&current, value) {
                (None, None) => return Ok(Written::Yes),
                (Some(entry), None) => self.data.delete_if(&scoped, entry.revision),
                (None, Some(value)) => self.data.create(&scoped, value).map(drop),
                (Some(entry), Some(value)) => self.data.update_from(&scoped, entry, value).map(drop),
            };
            match written {
                Ok(()) => {
                    if delta != 0 {
                        self.add_usage(plugin, delta)?;
                    }
                    return Ok(Written::Yes);
                }
                Err(StorageError::Conflict) => continue,
                Err(error) => return Err(error),
            }
        }
    }

    /// The plugin's keys that start with `prefix`, in order.
    pub fn list_keys(&self, plugin: &str, prefix: &str) -> Result<Vec<String>, StorageError> {
        let namespace_len = plugin.len() + 1;
        let keys = self.data.keys(&scoped_key(plugin, prefix))?;
        Ok(keys.iter().map(|key| String::from_utf8_lossy(&key[namespace_len..]).into_owned()).collect())
    }

    /// Deletes every key of `plugin` starting with `prefix`; returns how many.
    pub fn delete_prefix(&self, plugin: &str, prefix: &str) -> Result<usize, StorageError> {
        let mut deleted = 0;
        let namespace_len = plugin.len() + 1;
        for (key, entry) in self.data.scan(&scoped_key(plugin, prefix))? {
            match self.data.delete_if(&key, entry.revision) {
                Ok(()) => {}
                // Written or deleted meanwhile: the next erasure pass sees it.
                Err(StorageError::Conflict) => continue,
                Err(error) => return Err(error),
            }
            self.add_usage(plugin, -((key.len() - namespace_len + entry.value.len()) as i64))?;
            deleted += 1;
        }
        Ok(deleted)
    }

    /// Bytes the plugin stores (keys and values).
    pub fn usage(&self, plugin: &str) -> Result<u64, StorageError> {
        Ok(decode_u64(self.usage.value(plugin.as_bytes())?.as_deref()))
    }
}

/// Per-store context of the kv capability.
pub struct KvCtx {
    plugin: Arc<str>,
    store: PluginKv,
    quota: u64,
    /// Set by a write; the worker flushes and clears it before acknowledging the call.
    pub(crate) dirty: bool,
    /// Set when the backend failed during the call: if the call then fails, the
    /// failure is the host's, not the plugin's (the worker clears it).
    pub(crate) backend_failed: bool,
    /// While this is true, writes are refused: the events being delivered went to
    /// another host (set by the worker per call; `None` for service calls).
    pub(crate) fence: Option<tokio::sync::watch::Receiver<bool>>,
    /// Set when the manifest does not request kv: every call is refused.
    ungranted: Option<Ungranted>,
}

impl KvCtx {
    /// The context of one store of `plugin`, within `quota` bytes.
    pub fn new(plugin: Arc<str>, store: PluginKv, quota: u64) -> Self {
        KvCtx { plugin, store, quota, dirty: false, backend_failed: false, fence: None, ungranted: None }
    }

    /// Runs `call` (named `function`, e.g. `kv.set`) unless kv is not granted. Every
    /// error is the plugin's to handle: a WIT result, never a trap.
    fn call<T>(
        &mut self,
        function: &str,
        call: impl FnOnce(&mut Self) -> Result<T, KvError>,
    ) -> wasmtime::Result<Result<T, KvError>> {
        Ok(match &self.ungranted {
            Some(ungranted) => Err(KvError::NotGranted(ungranted.refuse(function))),
            None => call(self),
        })
    }

    fn write(&mut self, key: &str, value: Option<&[u8]>, precondition: Precondition<'_>) -> Result<bool, KvError> {
        check_key(key)?;
        if let Some(value) = value
            && value.len() > MAX_VALUE_BYTES
        {
            return Err(KvError::ValueTooLarge(format!(
                "values are at most {MAX_VALUE_BYTES} bytes, got {}",
                value.len()
            )));
        }
        if self.fence.as_ref().is_some_and(|fence| *fence.borrow()) {
            // Not the plugin's failure: the events are delivered again by their new host.
            self.backend_failed = true;
            return Err(KvError::Unavailable("these events are now delivered by another host".into()));
        }
        let written = self.store.write(&self.plugin, key, value, precondition, self.quota);
        match written.map_err(|error| self.unavailable(error))? {
            Written::Yes => {
                self.dirty = true;
                Ok(true)
            }
            Written::ConditionFailed => Ok(false),
            Written::OverQuota { used } => Err(KvError::QuotaExceeded(format!(
                "this plugin stores {used} of its {} bytes; delete something first",
                self.quota
            ))),
        }
    }
}

fn check_key(key: &str) -> Result<(), KvError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(KvError::InvalidKey(format!("keys must be 1 to {MAX_KEY_BYTES} bytes, got {}", key.len())));
    }
    Ok(())
}

impl KvCtx {
    fn unavailable(&mut self, error: StorageError) -> KvError {
        tracing::error!(plugin = %self.plugin, %error, "kv backend failed");
        self.backend_failed = true;
        KvError::Unavailable("storage is unavailable, retry later".into())
    }
}

impl Host for KvCtx {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, KvError>> {
        self.call("kv.get", |kv| {
            check_key(&key)?;
            let read = kv.store.get(&kv.plugin, &key);
            read.map_err(|error| kv.unavailable(error))
        })
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), KvError>> {
        self.call("kv.set", |kv| kv.write(&key, Some(&value), Precondition::Always).map(drop))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), KvError>> {
        self.call("kv.delete", |kv| kv.write(&key, None, Precondition::Always).map(drop))
    }

    fn list_keys(&mut self, prefix: String) -> wasmtime::Result<Result<Vec<String>, KvError>> {
        self.call("kv.list-keys", |kv| {
            let listed = kv.store.list_keys(&kv.plugin, &prefix);
            listed.map_err(|error| kv.unavailable(error))
        })
    }

    fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<bool, KvError>> {
        self.call("kv.compare-and-swap", |kv| {
            kv.write(&key, Some(&value), Precondition::CurrentIs(expected.as_deref()))
        })
    }
}

impl Capability for KvCtx {
    fn new(setup: &Setup<'_>) -> Self {
        let mut kv = KvCtx::new(setup.plugin.clone(), setup.backends.kv.clone(), setup.backends.kv_quota_bytes);
        kv.ungranted = Ungranted::unless(setup.grants.kv, super::manifest_line::KV, setup);
        kv
    }

    fn add_to_linker<T: PluginStore>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut Self) -> wasmtime::Result<()> {
        crate::bindings::hearth::plugin::kv::add_to_linker::<T, HasSelf<Self>>(linker, get)?;
        crate::bindings::v0_1::hearth::plugin::kv::add_to_linker::<T, HasSelf<Self>>(linker, get)
    }
}

/// `hearth:plugin/kv@0.1.0`: the same calls. 0.1 has no `not-granted`: a refusal is
/// `unavailable`, with the same message.
mod v0_1 {
    use super::KvCtx;
    use crate::bindings::hearth::plugin::kv::KvError;
    use crate::bindings::v0_1::hearth::plugin::kv::{Host, KvError as Old};

    fn old<T>(result: Result<T, KvError>) -> Result<T, Old> {
        result.map_err(|error| match error {
            KvError::InvalidKey(message) => Old::InvalidKey(message),
            KvError::ValueTooLarge(message) => Old::ValueTooLarge(message),
            KvError::QuotaExceeded(message) => Old::QuotaExceeded(message),
            KvError::Unavailable(message) | KvError::NotGranted(message) => Old::Unavailable(message),
        })
    }

    impl Host for KvCtx {
        fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, Old>> {
            Ok(old(super::Host::get(self, key)?))
        }

        fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), Old>> {
            Ok(old(super::Host::set(self, key, value)?))
        }

        fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), Old>> {
            Ok(old(super::Host::delete(self, key)?))
        }

        fn list_keys(&mut self, prefix: String) -> wasmtime::Result<Result<Vec<String>, Old>> {
            Ok(old(super::Host::list_keys(self, prefix)?))
        }

        fn compare_and_swap(
            &mut self,
            key: String,
            expected: Option<Vec<u8>>,
            value: Vec<u8>,
        ) -> wasmtime::Result<Result<bool, Old>> {
            Ok(old(super::Host::compare_and_swap(self, key, expected, value)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_cas_and_household_prefixes() {
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::storage::sled::SledStorage::open(dir.path()).unwrap();
        let kv = PluginKv::open(&storage).unwrap();
        let quota = 100;
        assert_eq!(kv.write("p", "a", Some(&[0; 40]), Precondition::Always, quota).unwrap(), Written::Yes);
        assert_eq!(kv.usage("p").unwrap(), 41);
        assert_eq!(kv.write("p", "b", Some(&[0; 58]), Precondition::Always, quota).unwrap(), Written::Yes);
        assert_eq!(kv.usage("p").unwrap(), 100);
        assert_eq!(
            kv.write("p", "c", Some(&[0; 1]), Precondition::Always, quota).unwrap(),
            Written::OverQuota { used: 100 }
        );
        // Replacing with something smaller, or deleting, is always possible.
        assert_eq!(kv.write("p", "a", Some(&[1; 10]), Precondition::Always, quota).unwrap(), Written::Yes);
        assert_eq!(kv.usage("p").unwrap(), 70);
        assert_eq!(kv.usage("other").unwrap(), 0, "usage is per plugin");

        let absent = Precondition::CurrentIs(None);
        assert_eq!(kv.write("p", "lock", Some(b"1"), absent, quota).unwrap(), Written::Yes);
        assert_eq!(kv.write("p", "lock", Some(b"2"), absent, quota).unwrap(), Written::ConditionFailed);
        assert_eq!(
            kv.write("p", "lock", Some(b"2"), Precondition::CurrentIs(Some(b"1")), quota).unwrap(),
            Written::Yes
        );
        assert_eq!(kv.get("p", "lock").unwrap().as_deref(), Some(&b"2"[..]));

        kv.write("p", "u-1/inventory", Some(b"x"), Precondition::Always, 1000).unwrap();
        kv.write("p", "u-1/ratings", Some(b"y"), Precondition::Always, 1000).unwrap();
        kv.write("p", "u-2/inventory", Some(b"z"), Precondition::Always, 1000).unwrap();
        let before = kv.usage("p").unwrap();
        assert_eq!(kv.delete_prefix("p", "u-1/").unwrap(), 2);
        assert_eq!(kv.list_keys("p", "u-").unwrap(), ["u-2/inventory"]);
        assert_eq!(
            kv.usage("p").unwrap(),
            before - ("u-1/inventory".len() as u64 + 1) - ("u-1/ratings".len() as u64 + 1)
        );
    }
}
