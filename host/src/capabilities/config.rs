//! `hearth:plugin/config`: values the operator set for a plugin. Values may be
//! secrets, so they are never logged.

use crate::bindings::hearth::plugin::config::Host;
use std::sync::Arc;

/// Where operator-set plugin configuration lives.
pub trait ConfigStore: Send + Sync + 'static {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<String>, sled::Error>;
    fn set(&self, plugin: &str, key: &str, value: &str) -> Result<(), sled::Error>;
    /// Deletes every value of the plugin.
    fn remove_all(&self, plugin: &str) -> Result<(), sled::Error>;
}

/// Embedded backend: one sled tree, keys `plugin \0 key`.
#[derive(Debug, Clone)]
pub struct SledConfig {
    tree: sled::Tree,
}

impl SledConfig {
    pub fn new(tree: sled::Tree) -> Self {
        SledConfig { tree }
    }
}

impl ConfigStore for SledConfig {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<String>, sled::Error> {
        let value = self.tree.get(scoped_key(plugin, key))?;
        Ok(value.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn set(&self, plugin: &str, key: &str, value: &str) -> Result<(), sled::Error> {
        self.tree.insert(scoped_key(plugin, key), value.as_bytes())?;
        Ok(())
    }

    fn remove_all(&self, plugin: &str) -> Result<(), sled::Error> {
        for key in self.tree.scan_prefix(scoped_key(plugin, "")).keys() {
            self.tree.remove(key?)?;
        }
        Ok(())
    }
}

/// `plugin \0 key`: plugin ids cannot contain NUL, so namespaces cannot overlap.
pub(crate) fn scoped_key(plugin: &str, key: &str) -> Vec<u8> {
    let mut scoped = Vec::with_capacity(plugin.len() + 1 + key.len());
    scoped.extend_from_slice(plugin.as_bytes());
    scoped.push(0);
    scoped.extend_from_slice(key.as_bytes());
    scoped
}

/// Per-store context of the config capability.
pub struct ConfigCtx {
    plugin: Arc<str>,
    store: Arc<dyn ConfigStore>,
}

impl ConfigCtx {
    pub fn new(plugin: Arc<str>, store: Arc<dyn ConfigStore>) -> Self {
        ConfigCtx { plugin, store }
    }
}

impl Host for ConfigCtx {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.store.get(&self.plugin, &key).map_err(|error| wasmtime::format_err!("config store failed: {error}"))
    }
}
