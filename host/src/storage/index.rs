//! A secondary index of a bucket: which of its keys belong to each owner (the devices
//! of a household, the orders of a household), so listing one owner's records reads
//! that owner's index keys, not the whole bucket.
//!
//! Keys only, `owner \0 key`. An index may hold more than the truth — an entry added
//! for a write that then failed, one left behind by a move — never less: entries are
//! added before their record is written and removed after it changed. So a reader
//! checks that each record it finds still names the owner.

use super::{Bucket, BucketExt as _, Entry, Storage, StorageError, scoped_key};
use std::sync::Arc;

/// An index over one bucket.
#[derive(Debug, Clone)]
pub struct Index {
    bucket: Arc<dyn Bucket>,
}

/// Set once every record of the bucket is indexed. Owners are ids without a `~`.
const BUILT: &[u8] = b"~built";

impl Index {
    /// Opens the index bucket `name` over `source`. The first time (a store written
    /// before the index existed), every record `owner_of` names an owner for is
    /// indexed; several hosts may do that at once, their writes are the same.
    pub fn open(
        storage: &dyn Storage,
        name: &str,
        source: &dyn Bucket,
        owner_of: impl Fn(&Entry) -> Result<Option<String>, StorageError>,
    ) -> Result<Self, StorageError> {
        let index = Index { bucket: storage.bucket(name)? };
        if index.bucket.get(BUILT)?.is_none() {
            for (key, entry) in source.scan(b"")? {
                if let Some(owner) = owner_of(&entry)? {
                    index.add(&owner, &key)?;
                }
            }
            index.bucket.put(BUILT, &[])?;
        }
        Ok(index)
    }

    /// Records that `key` belongs to `owner` (before the record is written).
    pub fn add(&self, owner: &str, key: &[u8]) -> Result<(), StorageError> {
        self.bucket.put(&index_key(owner, key), &[]).map(drop)
    }

    /// Forgets that `key` belongs to `owner` (after the record moved on).
    pub fn remove(&self, owner: &str, key: &[u8]) -> Result<(), StorageError> {
        self.bucket.delete(&index_key(owner, key))
    }

    /// The keys indexed under `owner`, in byte order; each record may have moved on.
    pub fn keys_of(&self, owner: &str) -> Result<Vec<Vec<u8>>, StorageError> {
        let prefix = scoped_key(owner, "");
        let keys = self.bucket.keys(&prefix)?;
        Ok(keys.into_iter().map(|key| key[prefix.len()..].to_vec()).collect())
    }

    /// Forgets every key of `owner` (after its records were removed).
    pub fn remove_owner(&self, owner: &str) -> Result<(), StorageError> {
        self.bucket.delete_prefix(&scoped_key(owner, "")).map(drop)
    }
}

fn index_key(owner: &str, key: &[u8]) -> Vec<u8> {
    let mut indexed = scoped_key(owner, "");
    indexed.extend_from_slice(key);
    indexed
}
