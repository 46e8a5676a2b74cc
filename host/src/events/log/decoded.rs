//! Log batches kept decoded in memory, so readers rarely decode: the newest ones
//! (the tail, which consumers that keep up read from) and the last few older ones
//! that consumers catching up read.

use super::{LogError, Seq, StoredEvent};
use std::sync::Arc;

/// Batches kept decoded for readers behind the tail (a few per consumer catching up).
const BEHIND_BATCHES: usize = 32;

/// Batches kept decoded in memory.
pub(super) const TAIL_BATCHES: usize = 256;

/// A decoded batch, shared between the tail and the consumers reading it.
pub(super) type SharedBatch = Arc<[Arc<StoredEvent>]>;
pub(super) type TailBatches = std::collections::VecDeque<(Seq, SharedBatch)>;

#[derive(Default)]
pub(super) struct Tail {
    batches: std::sync::Mutex<TailBatches>,
}

impl Tail {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, TailBatches> {
        crate::sync::lock(&self.batches)
    }

    pub(super) fn push(&self, first: Seq, events: SharedBatch) {
        let mut batches = self.lock();
        if batches.len() == TAIL_BATCHES {
            batches.pop_front();
        }
        batches.push_back((first, events));
    }

    /// Events from `wanted` on, if the tail reaches back that far.
    pub(super) fn read(&self, wanted: Seq, max: usize) -> Option<Vec<(Seq, Arc<StoredEvent>)>> {
        let batches = self.lock();
        let &(oldest, _) = batches.front()?;
        if wanted < oldest {
            return None;
        }
        // Batches are in seq order: skip those that end before `wanted` without a scan.
        let start = batches.partition_point(|(first, batch)| first + batch.len() as u64 <= wanted);
        let mut events = Vec::new();
        for (first, batch) in batches.range(start..) {
            let skip = wanted.saturating_sub(*first) as usize;
            for (offset, event) in batch.iter().enumerate().skip(skip) {
                events.push((first + offset as u64, event.clone()));
                if events.len() == max {
                    return Some(events);
                }
            }
        }
        Some(events)
    }
}

/// Older batches decoded for readers behind the tail, the most recent few: a consumer
/// reading a 1,000-event batch 100 at a time decodes it once, not ten times.
#[derive(Default)]
pub(super) struct Behind {
    batches: std::sync::Mutex<TailBatches>,
}

impl Behind {
    /// The batch stored at `first`, decoded by `decode` if no reader decoded it lately.
    pub(super) fn get_or_decode(
        &self,
        first: Seq,
        decode: impl FnOnce() -> Result<SharedBatch, LogError>,
    ) -> Result<SharedBatch, LogError> {
        if let Some((_, batch)) = crate::sync::lock(&self.batches).iter().find(|(known, _)| *known == first) {
            return Ok(batch.clone());
        }
        let batch = decode()?;
        let mut batches = crate::sync::lock(&self.batches);
        if batches.len() == BEHIND_BATCHES {
            batches.pop_front();
        }
        batches.push_back((first, batch.clone()));
        Ok(batch)
    }

    /// Forgets every decoded batch (after an erasure rewrote some).
    pub(super) fn clear(&self) {
        crate::sync::lock(&self.batches).clear();
    }
}
