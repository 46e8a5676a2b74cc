//! The operator's trust store: which ed25519 keys may sign each publisher's packages
//! (the `trusted-keys` bucket: publisher → hex public keys, JSON).

use crate::HostError;
use crate::storage::{Bucket, BucketExt, Storage};
use ed25519_dalek::VerifyingKey;
use hearth_package::package::parse_public_key;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Trusted publisher keys.
#[derive(Clone)]
pub struct TrustStore {
    bucket: Arc<dyn Bucket>,
}

impl TrustStore {
    /// Opens the bucket.
    pub fn open(storage: &dyn Storage) -> Result<Self, HostError> {
        Ok(TrustStore { bucket: storage.bucket("trusted-keys")? })
    }

    fn keys(&self, publisher: &str) -> Result<Vec<String>, HostError> {
        Ok(self.bucket.get_json(publisher.as_bytes())?.unwrap_or_default())
    }

    fn put(&self, publisher: &str, keys: &[String]) -> Result<(), HostError> {
        if keys.is_empty() {
            self.bucket.delete(publisher.as_bytes())?;
        } else {
            self.bucket.put_json(publisher.as_bytes(), &keys)?;
        }
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
        for (publisher, entry) in self.bucket.scan(b"")? {
            let keys: Vec<String> = crate::storage::decode_json(&entry.value)?;
            all.insert(String::from_utf8_lossy(&publisher).into_owned(), keys);
        }
        Ok(all)
    }
}
