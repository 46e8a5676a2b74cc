//! The storage seam: everything the host keeps lives in a few primitives, so a
//! backend implements these and nothing else. [`Bucket`] is a keyed bucket with
//! revisions (get, put, create-if-absent, update-if-revision, delete, scan by prefix,
//! watch); [`Storage`] opens buckets by name, hands out increasing ids and makes writes
//! durable. The event log (`events::log`) is the append-only stream primitive.
//!
//! The semantics are chosen so that NATS JetStream implements them one-to-one (a KV
//! bucket per [`Bucket`], revisions are its sequence numbers, `create`/`update` are its
//! `create`/`update`, `watch` its watch); `docs/DESIGN.md` gives the whole mapping.
//! [`sled`] is the embedded implementation; [`conformance`] is the suite any
//! implementation must pass.

pub mod conformance;
mod index;
mod keys;
pub mod sled;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use index::Index;
pub use keys::{scoped_key, split_scoped};

/// A bucket's revision of one key: increases with every write to the bucket.
pub type Revision = u64;

/// A stored value and the revision that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value as written.
    pub value: Vec<u8>,
    /// The revision that wrote it; pass it to [`Bucket::update`] to change it only if
    /// nobody else did meanwhile.
    pub revision: Revision,
}

/// Why a storage operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// `create` found the key present, or `update` found another revision: nothing
    /// was written.
    #[error("the key was changed by someone else")]
    Conflict,
    /// Stored bytes the backend cannot read.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The backend failed (disk, network); the operation may not have happened.
    #[error("{0}")]
    Backend(String),
}

impl From<::sled::Error> for StorageError {
    fn from(error: ::sled::Error) -> Self {
        StorageError::Backend(error.to_string())
    }
}

/// One change a [`Watch`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The key written or deleted.
    pub key: Vec<u8>,
    /// The new entry, `None` when the key was deleted.
    pub entry: Option<Entry>,
}

/// Changes to keys under a prefix, in the order they happened, from the moment the
/// watch started.
pub struct Watch(Pin<Box<dyn futures::Stream<Item = Change> + Send>>);

impl Watch {
    /// Wraps a backend's stream of changes.
    pub fn new(changes: impl futures::Stream<Item = Change> + Send + 'static) -> Self {
        Watch(Box::pin(changes))
    }

    /// The next change; `None` once the bucket is closed.
    pub async fn next(&mut self) -> Option<Change> {
        futures::StreamExt::next(&mut self.0).await
    }
}

/// A keyed bucket. Keys are byte strings; values are opaque bytes.
pub trait Bucket: Send + Sync + 'static {
    /// The current entry of `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Entry>, StorageError>;
    /// Writes `value` whatever is there.
    fn put(&self, key: &[u8], value: &[u8]) -> Result<Revision, StorageError>;
    /// Writes `value` only if `key` is absent; [`StorageError::Conflict`] otherwise.
    fn create(&self, key: &[u8], value: &[u8]) -> Result<Revision, StorageError>;
    /// Writes `value` only if `key` is still at `revision`; [`StorageError::Conflict`]
    /// otherwise (also when it was deleted).
    fn update(&self, key: &[u8], value: &[u8], revision: Revision) -> Result<Revision, StorageError>;
    /// [`Bucket::update`] from the entry the caller read: the same condition (`key` is
    /// still at `current`'s revision), for backends that can check it without reading
    /// the key again.
    fn update_from(&self, key: &[u8], current: &Entry, value: &[u8]) -> Result<Revision, StorageError> {
        self.update(key, value, current.revision)
    }
    /// Deletes `key` (nothing happens if it is absent).
    fn delete(&self, key: &[u8]) -> Result<(), StorageError>;
    /// Deletes `key` only if it is still at `revision`; [`StorageError::Conflict`]
    /// otherwise.
    fn delete_if(&self, key: &[u8], revision: Revision) -> Result<(), StorageError>;
    /// Every entry whose key starts with `prefix`, in key order.
    fn scan(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Entry)>, StorageError>;
    /// Every key that starts with `prefix`, in order.
    fn keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StorageError>;
    /// Changes to keys under `prefix` from now on, each key's in revision order, ending
    /// with its latest state. A value overwritten or deleted before the watch got to it
    /// may be skipped (a replicated store keeps only the latest value per key): a watch
    /// follows state, it is not a history.
    fn watch(&self, prefix: &[u8]) -> Result<Watch, StorageError>;
}

impl std::fmt::Debug for dyn Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bucket")
    }
}

/// A future a storage call returns.
pub type StorageFuture<'a> = Pin<Box<dyn Future<Output = Result<(), StorageError>> + Send + 'a>>;

/// A backend: named buckets, ids and durability.
pub trait Storage: Send + Sync + 'static {
    /// The bucket called `name`, created empty if new. Opening it twice gives the same data.
    fn bucket(&self, name: &str) -> Result<Arc<dyn Bucket>, StorageError>;
    /// A new id, larger than every id this storage handed out before (across restarts).
    fn next_id(&self) -> Result<u64, StorageError>;
    /// Makes every write made so far durable.
    fn flush(&self) -> StorageFuture<'_>;
}

/// What [`BucketExt::modify`] makes of a value (`None`: absent / delete).
pub type Modify<'a> = dyn FnMut(Option<&[u8]>) -> Option<Vec<u8>> + 'a;

/// Helpers every store built on a [`Bucket`] uses.
pub trait BucketExt {
    /// The value of `key`, without its revision.
    fn value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
    /// Reads `key` and writes what `change` makes of it, retrying while someone else
    /// writes in between; `change` returning `None` deletes the key. Returns the new value.
    fn modify(&self, key: &[u8], change: &mut Modify<'_>) -> Result<Option<Vec<u8>>, StorageError>;
    /// Deletes every key under `prefix`; returns how many.
    fn delete_prefix(&self, prefix: &[u8]) -> Result<usize, StorageError>;
    /// Reads a JSON value.
    fn get_json<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StorageError>;
    /// Writes a JSON value.
    fn put_json<T: serde::Serialize>(&self, key: &[u8], value: &T) -> Result<Revision, StorageError>;
}

impl<B: Bucket + ?Sized> BucketExt for B {
    fn value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.get(key)?.map(|entry| entry.value))
    }

    fn modify(&self, key: &[u8], change: &mut Modify<'_>) -> Result<Option<Vec<u8>>, StorageError> {
        loop {
            let current = self.get(key)?;
            let next = change(current.as_ref().map(|entry| entry.value.as_slice()));
            let written = match (&current, &next) {
                (None, None) => return Ok(None),
                (Some(entry), None) => self.delete_if(key, entry.revision).map(|()| 0),
                (None, Some(value)) => self.create(key, value),
                (Some(entry), Some(value)) => self.update_from(key, entry, value),
            };
            match written {
                Ok(_) => return Ok(next),
                Err(StorageError::Conflict) => continue,
                Err(error) => return Err(error),
            }
        }
    }

    fn delete_prefix(&self, prefix: &[u8]) -> Result<usize, StorageError> {
        let keys = self.keys(prefix)?;
        for key in &keys {
            self.delete(key)?;
        }
        Ok(keys.len())
    }

    fn get_json<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StorageError> {
        match self.get(key)? {
            None => Ok(None),
            Some(entry) => decode_json(&entry.value).map(Some),
        }
    }

    fn put_json<T: serde::Serialize>(&self, key: &[u8], value: &T) -> Result<Revision, StorageError> {
        self.put(key, &encode_json(value)?)
    }
}

/// A JSON value as stored.
pub fn encode_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(value).map_err(|error| StorageError::Corrupt(error.to_string()))
}

/// A stored JSON value.
pub fn decode_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StorageError> {
    serde_json::from_slice(bytes).map_err(|error| StorageError::Corrupt(error.to_string()))
}

/// A big-endian counter as stored.
pub fn decode_u64(bytes: Option<&[u8]>) -> u64 {
    bytes.and_then(|bytes| <[u8; 8]>::try_from(bytes).ok()).map_or(0, u64::from_be_bytes)
}
