//! The sled log's dedupe index: which scoped event ids the log holds, and where.
//!
//! Looking ids up must be cheap because every ingested event does it, and a sled entry
//! per event cost more than everything else ingest does (one sled insert per event
//! halved durable throughput). So the index lives in memory — a 16-byte digest of each
//! retained event's dedupe key, mapped to its position, about 32 bytes per event — and
//! on disk as one entry per batch (the `event-keys` tree: the batch's first position →
//! its events' digests in order, an all-zero digest for an erased event). Opening the
//! log loads those entries, and brings them in line with the batches first: a batch
//! with no entry (a crash between the two writes, or data from before this index) gets
//! one, an entry with no batch (compacted, or its batch never landed) goes.
//!
//! A digest stands for its key: SHA-256 truncated to 128 bits, so two different ids
//! that collide would take 2^64 attempts to find.

use super::{LogError, Repair, Seq, StoredEvent};
use sha2::Digest as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The sled tree of per-batch digest lists.
pub(super) const KEYS_TREE: &str = "event-keys";

/// What an erased event's place in a digest list holds.
const ERASED: Digest = [0; 16];

/// An event's dedupe key, digested.
pub(super) type Digest = [u8; 16];

pub(super) fn digest(event: &StoredEvent) -> Digest {
    let full = sha2::Sha256::digest(event.dedupe_key());
    let mut digest = [0; 16];
    digest.copy_from_slice(&full[..16]);
    digest
}

/// A batch's digest list as stored.
pub(super) fn encode(digests: &[Digest]) -> Vec<u8> {
    digests.concat()
}

fn decode(bytes: &[u8]) -> impl Iterator<Item = Digest> + '_ {
    bytes.chunks_exact(16).map(|chunk| {
        let mut digest = [0; 16];
        digest.copy_from_slice(chunk);
        digest
    })
}

/// The retained events' positions by digest, shared by the committer (lookups and
/// appends), compaction and erasure.
#[derive(Clone, Default)]
pub(super) struct DedupeIndex {
    positions: Arc<Mutex<HashMap<Digest, Seq>>>,
}

impl DedupeIndex {
    pub(super) fn lock(&self) -> MutexGuard<'_, HashMap<Digest, Seq>> {
        crate::sync::lock(&self.positions)
    }

    /// Repairs the digest lists against the batches (see the module's comment) and
    /// loads them. `events_of` decodes a batch.
    pub(super) fn open(
        batches: &sled::Tree,
        keys: &sled::Tree,
        events_of: impl Fn(&[u8]) -> Result<Vec<StoredEvent>, LogError>,
    ) -> Result<(DedupeIndex, Repair), LogError> {
        let mut repair = Repair::default();
        for entry in keys.iter() {
            let (first, digests) = entry?;
            if !batches.contains_key(&first)? {
                keys.remove(&first)?;
                repair.dangling_ids += (digests.len() / 16) as u64;
            }
        }
        for entry in batches.iter() {
            let (first, batch) = entry?;
            if !keys.contains_key(&first)? {
                let digests: Vec<Digest> = events_of(&batch)?.iter().map(digest).collect();
                keys.insert(&first, encode(&digests))?;
                repair.missing_ids += digests.len() as u64;
            }
        }
        let mut positions = HashMap::new();
        for entry in keys.iter() {
            let (first, digests) = entry?;
            let first = super::sled::key_seq(&first)?;
            for (offset, digest) in decode(&digests).enumerate() {
                if digest != ERASED {
                    positions.insert(digest, first + offset as u64);
                }
            }
        }
        Ok((DedupeIndex { positions: Arc::new(Mutex::new(positions)) }, repair))
    }

    /// Forgets a removed batch's events (those the index still maps to it).
    pub(super) fn forget_batch(&self, keys: &sled::Tree, first: Seq) -> Result<(), LogError> {
        let Some(digests) = keys.remove(first.to_be_bytes())? else { return Ok(()) };
        let mut positions = self.lock();
        for (offset, digest) in decode(&digests).enumerate() {
            if positions.get(&digest) == Some(&(first + offset as u64)) {
                positions.remove(&digest);
            }
        }
        Ok(())
    }

    /// Forgets the events at `offsets` of the batch at `first` (erased): their ids are
    /// new ids from now on.
    pub(super) fn forget_events(&self, keys: &sled::Tree, first: Seq, offsets: &[usize]) -> Result<(), LogError> {
        let key = first.to_be_bytes();
        let Some(stored) = keys.get(key)? else { return Ok(()) };
        let mut digests: Vec<Digest> = decode(&stored).collect();
        let mut positions = self.lock();
        for &offset in offsets {
            if let Some(digest) = digests.get_mut(offset) {
                if positions.get(digest) == Some(&(first + offset as u64)) {
                    positions.remove(digest);
                }
                *digest = ERASED;
            }
        }
        keys.insert(key, encode(&digests))?;
        Ok(())
    }
}
