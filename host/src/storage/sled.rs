//! The embedded backend: one sled database in the host's data directory. A bucket
//! is a sled tree; each value is stored after the 8-byte revision that wrote it, and
//! revisions come from sled's persistent id generator, so they only grow.

use super::{Bucket, Change, Entry, Revision, Storage, StorageError, StorageFuture, Watch};
use std::path::Path;
use std::sync::Arc;

/// The sled implementation of [`Storage`].
#[derive(Clone)]
pub struct SledStorage {
    db: ::sled::Db,
}

impl std::fmt::Debug for SledStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStorage").finish_non_exhaustive()
    }
}

impl SledStorage {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        Ok(SledStorage { db: ::sled::open(path)? })
    }

    /// The database itself, for the event log (its own layout over sled trees).
    pub fn database(&self) -> &::sled::Db {
        &self.db
    }

    /// The bucket called `name`, typed (for the sled-only parts of the host).
    pub fn sled_bucket(&self, name: &str) -> Result<SledBucket, StorageError> {
        Ok(SledBucket { tree: self.db.open_tree(name)?, db: self.db.clone() })
    }
}

impl Storage for SledStorage {
    fn bucket(&self, name: &str) -> Result<Arc<dyn Bucket>, StorageError> {
        Ok(Arc::new(self.sled_bucket(name)?))
    }

    fn next_id(&self) -> Result<u64, StorageError> {
        Ok(self.db.generate_id()?)
    }

    fn flush(&self) -> StorageFuture<'_> {
        Box::pin(async move {
            flush(&self.db).await?;
            Ok(())
        })
    }
}

/// Makes everything written to `db` so far durable. On tokio's blocking pool rather
/// than through sled's `flush_async`: sled's own pool wakes every idle thread of it for
/// each task, which cost the event log about a fifth of its single-event ingest rate.
pub async fn flush(db: &::sled::Db) -> Result<(), ::sled::Error> {
    let db = db.clone();
    match tokio::task::spawn_blocking(move || db.flush()).await {
        Ok(flushed) => flushed.map(drop),
        Err(stopped) => Err(::sled::Error::Io(std::io::Error::other(stopped))),
    }
}

/// A bucket: one sled tree.
#[derive(Clone)]
pub struct SledBucket {
    tree: ::sled::Tree,
    db: ::sled::Db,
}

fn encode(revision: Revision, value: &[u8]) -> Vec<u8> {
    let mut stored = Vec::with_capacity(8 + value.len());
    stored.extend_from_slice(&revision.to_be_bytes());
    stored.extend_from_slice(value);
    stored
}

fn decode(stored: &[u8]) -> Result<Entry, StorageError> {
    let Some((revision, value)) = stored.split_first_chunk::<8>() else {
        return Err(StorageError::Corrupt(format!("a stored value of {} bytes has no revision", stored.len())));
    };
    Ok(Entry { value: value.to_vec(), revision: u64::from_be_bytes(*revision) })
}

impl SledBucket {
    fn next_revision(&self) -> Result<Revision, StorageError> {
        // Ids start at 0; revision 0 would read as "never written".
        Ok(self.db.generate_id()? + 1)
    }
}

impl Bucket for SledBucket {
    fn get(&self, key: &[u8]) -> Result<Option<Entry>, StorageError> {
        self.tree.get(key)?.map(|stored| decode(&stored)).transpose()
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<Revision, StorageError> {
        let revision = self.next_revision()?;
        self.tree.insert(key, encode(revision, value))?;
        Ok(revision)
    }

    fn create(&self, key: &[u8], value: &[u8]) -> Result<Revision, StorageError> {
        let revision = self.next_revision()?;
        match self.tree.compare_and_swap(key, None as Option<&[u8]>, Some(encode(revision, value)))? {
            Ok(()) => Ok(revision),
            Err(_) => Err(StorageError::Conflict),
        }
    }

    fn update(&self, key: &[u8], value: &[u8], revision: Revision) -> Result<Revision, StorageError> {
        let Some(current) = self.tree.get(key)? else { return Err(StorageError::Conflict) };
        if decode(&current)?.revision != revision {
            return Err(StorageError::Conflict);
        }
        let next = self.next_revision()?;
        match self.tree.compare_and_swap(key, Some(current), Some(encode(next, value)))? {
            Ok(()) => Ok(next),
            Err(_) => Err(StorageError::Conflict),
        }
    }

    fn update_from(&self, key: &[u8], current: &Entry, value: &[u8]) -> Result<Revision, StorageError> {
        // The stored bytes are the revision and the value, and every write takes a new
        // revision: the bytes `current` was read from are still there exactly when the
        // key is still at its revision.
        let next = self.next_revision()?;
        let expected = encode(current.revision, &current.value);
        match self.tree.compare_and_swap(key, Some(expected), Some(encode(next, value)))? {
            Ok(()) => Ok(next),
            Err(_) => Err(StorageError::Conflict),
        }
    }

    fn delete(&self, key: &[u8]) -> Result<(), StorageError> {
        self.tree.remove(key)?;
        Ok(())
    }

    fn delete_if(&self, key: &[u8], revision: Revision) -> Result<(), StorageError> {
        let Some(current) = self.tree.get(key)? else { return Err(StorageError::Conflict) };
        if decode(&current)?.revision != revision {
            return Err(StorageError::Conflict);
        }
        match self.tree.compare_and_swap(key, Some(current), None as Option<&[u8]>)? {
            Ok(()) => Ok(()),
            Err(_) => Err(StorageError::Conflict),
        }
    }

    fn scan(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Entry)>, StorageError> {
        self.tree
            .scan_prefix(prefix)
            .map(|item| {
                let (key, stored) = item?;
                Ok((key.to_vec(), decode(&stored)?))
            })
            .collect()
    }

    fn keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StorageError> {
        self.tree.scan_prefix(prefix).keys().map(|key| Ok(key?.to_vec())).collect()
    }

    fn watch(&self, prefix: &[u8]) -> Result<Watch, StorageError> {
        let subscriber = self.tree.watch_prefix(prefix);
        let changes = futures::stream::unfold(subscriber, |mut subscriber| async move {
            loop {
                let event = (&mut subscriber).await?;
                let change = match event {
                    ::sled::Event::Insert { key, value } => match decode(&value) {
                        Ok(entry) => Change { key: key.to_vec(), entry: Some(entry) },
                        Err(_) => continue,
                    },
                    ::sled::Event::Remove { key } => Change { key: key.to_vec(), entry: None },
                };
                return Some((change, subscriber));
            }
        });
        Ok(Watch::new(changes))
    }
}
