//! `hearth:plugin/kv`: durable key-value storage private to each plugin.
//!
//! Every key lives under the plugin's namespace, so no plugin can name another's data.
//! Writes land in the backend at once and are made durable before the call that made
//! them is acknowledged (the worker flushes once per call, not once per write).

use super::config::scoped_key;
use crate::bindings::hearth::plugin::kv::{Host, KvError};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Longest key a plugin may use, in bytes.
pub const MAX_KEY_BYTES: usize = 512;
/// Largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 << 10;

/// Where plugin key-value data lives. Keys are already scoped to one plugin.
pub trait KvStore: Send + Sync + 'static {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, sled::Error>;
    fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), sled::Error>;
    fn delete(&self, plugin: &str, key: &str) -> Result<(), sled::Error>;
    fn list_keys(&self, plugin: &str, prefix: &str) -> Result<Vec<String>, sled::Error>;
    /// Makes every write so far durable.
    fn flush(&self) -> Pin<Box<dyn Future<Output = Result<(), sled::Error>> + Send + '_>>;
}

/// Embedded backend: one sled tree, keys `plugin \0 key`.
#[derive(Debug, Clone)]
pub struct SledKv {
    tree: sled::Tree,
}

impl SledKv {
    pub fn new(tree: sled::Tree) -> Self {
        SledKv { tree }
    }
}

impl KvStore for SledKv {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, sled::Error> {
        Ok(self.tree.get(scoped_key(plugin, key))?.map(|value| value.to_vec()))
    }

    fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), sled::Error> {
        self.tree.insert(scoped_key(plugin, key), value)?;
        Ok(())
    }

    fn delete(&self, plugin: &str, key: &str) -> Result<(), sled::Error> {
        self.tree.remove(scoped_key(plugin, key))?;
        Ok(())
    }

    fn list_keys(&self, plugin: &str, prefix: &str) -> Result<Vec<String>, sled::Error> {
        let namespace_len = plugin.len() + 1;
        self.tree
            .scan_prefix(scoped_key(plugin, prefix))
            .keys()
            .map(|key| key.map(|key| String::from_utf8_lossy(&key[namespace_len..]).into_owned()))
            .collect()
    }

    fn flush(&self) -> Pin<Box<dyn Future<Output = Result<(), sled::Error>> + Send + '_>> {
        Box::pin(async move { self.tree.flush_async().await.map(drop) })
    }
}

/// Per-store context of the kv capability.
pub struct KvCtx {
    plugin: Arc<str>,
    store: Arc<dyn KvStore>,
    /// Set by a write; the worker flushes and clears it before acknowledging the call.
    pub(crate) dirty: bool,
}

impl KvCtx {
    pub fn new(plugin: Arc<str>, store: Arc<dyn KvStore>) -> Self {
        KvCtx { plugin, store, dirty: false }
    }
}

fn check_key(key: &str) -> Result<(), KvError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(KvError::InvalidKey(format!("keys must be 1 to {MAX_KEY_BYTES} bytes, got {}", key.len())));
    }
    Ok(())
}

fn unavailable(error: sled::Error) -> KvError {
    tracing::error!(%error, "kv backend failed");
    KvError::Unavailable("storage is unavailable, retry later".into())
}

impl Host for KvCtx {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, KvError>> {
        Ok(check_key(&key).and_then(|()| self.store.get(&self.plugin, &key).map_err(unavailable)))
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), KvError>> {
        if let Err(error) = check_key(&key) {
            return Ok(Err(error));
        }
        if value.len() > MAX_VALUE_BYTES {
            return Ok(Err(KvError::ValueTooLarge(format!(
                "values are at most {MAX_VALUE_BYTES} bytes, got {}",
                value.len()
            ))));
        }
        self.dirty = true;
        Ok(self.store.set(&self.plugin, &key, &value).map_err(unavailable))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), KvError>> {
        if let Err(error) = check_key(&key) {
            return Ok(Err(error));
        }
        self.dirty = true;
        Ok(self.store.delete(&self.plugin, &key).map_err(unavailable))
    }

    fn list_keys(&mut self, prefix: String) -> wasmtime::Result<Result<Vec<String>, KvError>> {
        Ok(self.store.list_keys(&self.plugin, &prefix).map_err(unavailable))
    }
}
