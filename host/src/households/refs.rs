//! Pseudonymous references: what a plugin sees instead of household and device ids.
//!
//! A ref is `HMAC-SHA256(host secret, plugin id, kind, real id)`, truncated to 128
//! bits: stable for one plugin, unlinkable between plugins, and meaningless without the
//! host secret (created on first start, kept in the host's database). The host keeps
//! the reverse mapping of every ref it hands out, so it can act on a plugin's behalf.

use crate::HostError;
use crate::storage::{Bucket, BucketExt, Storage, scoped_key};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::sync::Arc;

const SECRET_KEY: &[u8] = b"pseudonym-secret";

/// Mints and resolves refs; holds the host secret.
#[derive(Clone)]
pub struct Pseudonyms {
    secret: [u8; 32],
    reverse: Arc<dyn Bucket>,
}

impl std::fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pseudonyms").finish_non_exhaustive()
    }
}

/// What a ref stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefKind {
    /// A household (`u-` refs).
    Household,
    /// A device (`d-` refs).
    Device,
}

impl RefKind {
    fn prefix(self) -> &'static str {
        match self {
            RefKind::Household => "u-",
            RefKind::Device => "d-",
        }
    }
}

impl Pseudonyms {
    /// Loads the host secret, creating and durably storing it on first start.
    pub fn open(storage: &dyn Storage) -> Result<Self, HostError> {
        let host = storage.bucket("host")?;
        let secret = match host.value(SECRET_KEY)? {
            Some(stored) => <[u8; 32]>::try_from(stored.as_ref())
                .map_err(|_| HostError::Corrupt("the pseudonym secret is not 32 bytes".into()))?,
            None => {
                let mut secret = [0u8; 32];
                getrandom::fill(&mut secret)
                    .map_err(|error| HostError::Engine(format!("no randomness for the host secret: {error}")))?;
                // Two hosts starting at once must agree on one secret: the first wins.
                match host.create(SECRET_KEY, &secret) {
                    Ok(_) => secret,
                    Err(crate::storage::StorageError::Conflict) => {
                        let stored = host.value(SECRET_KEY)?.unwrap_or_default();
                        <[u8; 32]>::try_from(stored.as_slice())
                            .map_err(|_| HostError::Corrupt("the pseudonym secret is not 32 bytes".into()))?
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        };
        Ok(Pseudonyms { secret, reverse: storage.bucket("refs")? })
    }

    /// The ref `plugin` sees for the household or device `id`, recorded for [`Self::resolve`].
    pub fn mint(&self, plugin: &str, kind: RefKind, id: &str) -> Result<String, HostError> {
        let reference = self.compute(plugin, kind, id);
        let key = scoped_key(plugin, &reference);
        if self.reverse.get(&key)?.is_none() {
            self.reverse.put(&key, id.as_bytes())?;
        }
        Ok(reference)
    }

    /// What `plugin` sees as `id`, without recording it (for erasure).
    pub fn reference(&self, plugin: &str, kind: RefKind, id: &str) -> String {
        self.compute(plugin, kind, id)
    }

    /// Forgets every plugin's refs of the given real ids; returns how many went.
    pub fn erase(&self, ids: &[&str]) -> Result<usize, HostError> {
        let mut erased = 0;
        for (key, entry) in self.reverse.scan(b"")? {
            if ids.iter().any(|id| id.as_bytes() == entry.value.as_slice()) {
                self.reverse.delete(&key)?;
                erased += 1;
            }
        }
        Ok(erased)
    }

    /// Forgets an uninstalled plugin's refs.
    pub fn remove_plugin(&self, plugin: &str) -> Result<(), HostError> {
        self.reverse.delete_prefix(&scoped_key(plugin, ""))?;
        Ok(())
    }

    /// The real id behind a ref `plugin` was given, if it was given one.
    pub fn resolve(&self, plugin: &str, reference: &str) -> Result<Option<String>, HostError> {
        let key = scoped_key(plugin, reference);
        Ok(self.reverse.value(&key)?.map(|id| String::from_utf8_lossy(&id).into_owned()))
    }

    fn compute(&self, plugin: &str, kind: RefKind, id: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        // Length-prefixed fields, so ("ab","c") and ("a","bc") cannot collide.
        for field in [plugin.as_bytes(), kind.prefix().as_bytes(), id.as_bytes()] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field);
        }
        let digest = mac.finalize().into_bytes();
        format!("{}{}", kind.prefix(), hex::encode(&digest[..16]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_stable_per_plugin_distinct_across_plugins_and_resolvable() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = {
            let storage = crate::storage::sled::SledStorage::open(dir.path()).unwrap();
            let refs = Pseudonyms::open(&storage).unwrap();
            let a = refs.mint("com.a.plugin", RefKind::Household, "household-1").unwrap();
            let b = refs.mint("com.b.plugin", RefKind::Household, "household-1").unwrap();
            assert_ne!(a, b, "two plugins must not see the same ref");
            assert!(!a.contains("household-1"));
            assert_eq!(refs.resolve("com.a.plugin", &a).unwrap().as_deref(), Some("household-1"));
            assert_eq!(refs.resolve("com.b.plugin", &a).unwrap(), None, "a ref only resolves for its plugin");
            assert_ne!(refs.mint("com.a.plugin", RefKind::Device, "household-1").unwrap(), a);
            storage.database().flush().unwrap();
            (a, b)
        };
        let storage = crate::storage::sled::SledStorage::open(dir.path()).unwrap();
        let refs = Pseudonyms::open(&storage).unwrap();
        assert_eq!(
            refs.mint("com.a.plugin", RefKind::Household, "household-1").unwrap(),
            first,
            "stable across restarts"
        );
        assert_eq!(refs.mint("com.b.plugin", RefKind::Household, "household-1").unwrap(), second);
    }
}
