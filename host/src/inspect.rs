//! Reading a plugin's data from outside the plugin: its kv entries and the pseudonym
//! it knows a household by. For the development server's inspection routes (which
//! `hearth-server` serves only when unsigned packages are allowed) and for tests; a
//! plugin never reaches another's data through them.

use crate::{Host, HostError};

impl Host {
    /// What `plugin` sees as `household`'s id.
    pub fn household_ref(&self, plugin: &str, household: &str) -> Result<String, HostError> {
        self.inner.refs.mint(plugin, crate::households::refs::RefKind::Household, household)
    }

    /// One value of a plugin's key-value data.
    pub fn kv_get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, HostError> {
        Ok(self.inner.kv.get(plugin, key)?)
    }

    /// A plugin's keys starting with `prefix`.
    pub fn kv_keys(&self, plugin: &str, prefix: &str) -> Result<Vec<String>, HostError> {
        Ok(self.inner.kv.list_keys(plugin, prefix)?)
    }
}
