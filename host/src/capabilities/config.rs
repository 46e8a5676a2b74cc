//! `hearth:plugin/config`: values the operator set for a plugin. Values may be
//! secrets, so they are never logged.

use super::{Capability, PluginStore, Setup};
use crate::bindings::hearth::plugin::config::Host;
use crate::storage::{Bucket, BucketExt, Storage, StorageError, scoped_key};
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker};

/// Operator-set values of every plugin: the `plugin-config` bucket, keys
/// `plugin \0 key`.
#[derive(Clone)]
pub struct PluginConfig {
    bucket: Arc<dyn Bucket>,
}

impl PluginConfig {
    /// Opens the bucket.
    pub fn open(storage: &dyn Storage) -> Result<Self, StorageError> {
        Ok(PluginConfig { bucket: storage.bucket("plugin-config")? })
    }

    /// One value of a plugin.
    pub fn get(&self, plugin: &str, key: &str) -> Result<Option<String>, StorageError> {
        let value = self.bucket.value(&scoped_key(plugin, key))?;
        Ok(value.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Sets one value of a plugin.
    pub fn set(&self, plugin: &str, key: &str, value: &str) -> Result<(), StorageError> {
        self.bucket.put(&scoped_key(plugin, key), value.as_bytes()).map(drop)
    }

    /// Deletes every value of the plugin.
    pub fn remove_all(&self, plugin: &str) -> Result<(), StorageError> {
        self.bucket.delete_prefix(&scoped_key(plugin, "")).map(drop)
    }
}

/// Per-store context of the config capability.
pub struct ConfigCtx {
    plugin: Arc<str>,
    store: PluginConfig,
}

impl ConfigCtx {
    /// The context of one store of `plugin`.
    pub fn new(plugin: Arc<str>, store: PluginConfig) -> Self {
        ConfigCtx { plugin, store }
    }
}

impl Host for ConfigCtx {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.store.get(&self.plugin, &key).map_err(|error| super::backend_failed("config", error))
    }
}

impl Capability for ConfigCtx {
    fn new(setup: &Setup<'_>) -> Self {
        ConfigCtx::new(setup.plugin.clone(), setup.backends.config.clone())
    }

    fn add_to_linker<T: PluginStore>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut Self) -> wasmtime::Result<()> {
        crate::bindings::link_every_version(linker, "config", |instance| {
            crate::bindings::hearth::plugin::config::add_to_linker_instance::<T, HasSelf<Self>>(instance, get)
        })
    }
}
