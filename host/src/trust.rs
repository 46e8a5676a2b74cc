//! The operator's trust store: which ed25519 keys may sign each publisher's packages
//! (sled tree `trusted-keys`: publisher → hex public keys).

use crate::HostError;
use ed25519_dalek::VerifyingKey;
use hearth_registry::package::parse_public_key;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct TrustStore {
    tree: sled::Tree,
}

impl TrustStore {
    pub fn open(db: &sled::Db) -> Result<Self, HostError> {
        Ok(TrustStore { tree: db.open_tree("trusted-keys")? })
    }

    fn keys(&self, publisher: &str) -> Result<Vec<String>, HostError> {
        match self.tree.get(publisher)? {
            Some(bytes) => {
                serde_json::from_slice(&bytes).map_err(|error| HostError::Corrupt(format!("trusted keys: {error}")))
            }
            None => Ok(Vec::new()),
        }
    }

    fn put(&self, publisher: &str, keys: &[String]) -> Result<(), HostError> {
        if keys.is_empty() {
            self.tree.remove(publisher)?;
        } else {
            self.tree.insert(publisher, serde_json::to_vec(keys).unwrap_or_default())?;
        }
        self.tree.flush()?;
        Ok(())
    }

    /// Trusts `key` (hex) for `publisher`; returns whether it was new.
    pub fn trust(&self, publisher: &str, key: &str) -> Result<bool, HostError> {
        crate::validate::publisher(publisher)?;
        let key = parse_public_key(key).map_err(|error| HostError::InvalidInput(error.to_string()))?;
        let key = hex::encode(key.as_bytes());
        let mut keys = self.keys(publisher)?;
        if keys.contains(&key) {
            return Ok(false);
        }
        keys.push(key);
        self.put(publisher, &keys)?;
        Ok(true)
    }

    /// Stops trusting `key` for `publisher`; returns whether it was trusted.
    pub fn distrust(&self, publisher: &str, key: &str) -> Result<bool, HostError> {
        let mut keys = self.keys(publisher)?;
        let before = keys.len();
        keys.retain(|trusted| trusted != key.trim());
        self.put(publisher, &keys)?;
        Ok(keys.len() < before)
    }

    /// The keys trusted for `publisher`, `None` when it is unknown.
    pub fn verifying_keys(&self, publisher: &str) -> Result<Option<Vec<VerifyingKey>>, HostError> {
        let keys = self.keys(publisher)?;
        if keys.is_empty() {
            return Ok(None);
        }
        let parsed = keys.iter().map(|key| parse_public_key(key)).collect::<Result<Vec<_>, _>>();
        parsed.map(Some).map_err(|error| HostError::Corrupt(format!("trusted key: {error}")))
    }

    /// Every publisher with its trusted keys.
    pub fn list(&self) -> Result<BTreeMap<String, Vec<String>>, HostError> {
        let mut all = BTreeMap::new();
        for entry in self.tree.iter() {
            let (publisher, bytes) = entry?;
            let keys: Vec<String> =
                serde_json::from_slice(&bytes).map_err(|error| HostError::Corrupt(format!("trusted keys: {error}")))?;
            all.insert(String::from_utf8_lossy(&publisher).into_owned(), keys);
        }
        Ok(all)
    }
}
