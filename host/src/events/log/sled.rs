//! The embedded event log over sled: batches, their events' dedupe digests and
//! cursors in three trees, a group-committing writer, and the newest batches kept
//! decoded.

#[cfg(test)]
use super::decoded::TAIL_BATCHES;
use super::decoded::{Behind, Tail};
#[cfg(test)]
use super::dedupe::digest;
use super::dedupe::{DedupeIndex, Digest, KEYS_TREE};
use super::{Appended, EventLog, LogError, Repair, Seq, StoredEvent};
use crate::bindings::EventBody;
use crate::events::catalog::CONSENT_REVOKED;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// The per-event dedupe trees of earlier versions (unscoped ids, then scoped keys →
/// seq), dropped on open: the digest lists are rebuilt from the batches.
const OLD_DEDUPE_TREES: [&str; 2] = ["event-ids", "event-dedupe"];

#[derive(Serialize, Deserialize)]
struct BatchRecord {
    appended_ms: u64,
    events: Vec<StoredEvent>,
}

enum Command {
    Append {
        events: Vec<StoredEvent>,
        reply: oneshot::Sender<Result<Vec<Appended>, LogError>>,
    },
    /// Stop after the appends before it; the database is released afterwards.
    Close,
}

/// Appends waiting for the committer; bounds memory when the disk falls behind.
const APPEND_QUEUE: usize = 1024;

/// The embedded event log over sled.
pub struct SledLog {
    batches: sled::Tree,
    keys: sled::Tree,
    index: DedupeIndex,
    cursors: sled::Tree,
    last: watch::Sender<Seq>,
    commands: mpsc::Sender<Command>,
    committer: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The newest batches, decoded and shared: consumers that keep up never decode.
    tail: Arc<Tail>,
    /// Older batches decoded for readers behind the tail, the most recent few: a
    /// consumer reading a 1,000-event batch 100 at a time decodes it once, not ten
    /// times.
    behind: Behind,
}

impl std::fmt::Debug for SledLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledLog").field("last_seq", &*self.last.borrow()).finish_non_exhaustive()
    }
}

fn seq_key(seq: Seq) -> [u8; 8] {
    seq.to_be_bytes()
}

pub(super) fn key_seq(key: &[u8]) -> Result<Seq, LogError> {
    <[u8; 8]>::try_from(key).map(u64::from_be_bytes).map_err(|_| LogError::Storage("malformed log key".into()))
}

fn decode_batch(bytes: &[u8]) -> Result<BatchRecord, LogError> {
    serde_json::from_slice(bytes).map_err(|error| LogError::Storage(format!("corrupt log batch: {error}")))
}

impl SledLog {
    /// Opens the log in `db`. With `durable` off, appends return before the flush
    /// (sled still flushes in the background): faster, but a crash loses the last
    /// moments of acknowledged events. Must be called within a tokio runtime.
    pub fn open(db: &sled::Db, durable: bool) -> Result<Arc<Self>, LogError> {
        let batches = db.open_tree("log")?;
        for old in OLD_DEDUPE_TREES {
            if db.tree_names().iter().any(|name| name.as_ref() == old.as_bytes()) {
                db.drop_tree(old)?;
            }
        }
        let keys = db.open_tree(KEYS_TREE)?;
        let last_seq = match batches.last()? {
            Some((key, value)) => key_seq(&key)? + decode_batch(&value)?.events.len() as u64 - 1,
            None => 0,
        };
        let (index, repair) = DedupeIndex::open(&batches, &keys, |batch| Ok(decode_batch(batch)?.events))?;
        if repair != Repair::default() {
            tracing::warn!(?repair, last_seq, "the event log was repaired after a crash");
            db.flush()?;
        }
        let (last, _) = watch::channel(last_seq);
        let (commands, queue) = mpsc::channel(APPEND_QUEUE);
        let tail = Arc::new(Tail::default());
        let committer = Committer {
            tail: tail.clone(),
            db: db.clone(),
            batches: batches.clone(),
            keys: keys.clone(),
            index: index.clone(),
            next: last_seq + 1,
            durable,
            last: last.clone(),
        };
        let committer = std::sync::Mutex::new(Some(tokio::spawn(committer.run(queue))));
        Ok(Arc::new(SledLog {
            batches,
            keys,
            index,
            cursors: db.open_tree("cursors")?,
            last,
            commands,
            committer,
            tail,
            behind: Behind::default(),
        }))
    }
}

impl EventLog for SledLog {
    /// Finishes the appends already queued and stops the committer.
    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let _ = self.commands.send(Command::Close).await;
            let committer = crate::sync::lock(&self.committer).take();
            if let Some(committer) = committer {
                let _ = committer.await;
            }
        })
    }

    fn append(
        &self,
        events: Vec<StoredEvent>,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Appended>, LogError>> + Send + '_>> {
        Box::pin(async move {
            if events.is_empty() {
                return Ok(Vec::new());
            }
            let (reply, answer) = oneshot::channel();
            self.commands.send(Command::Append { events, reply }).await.map_err(|_| LogError::Closed)?;
            answer.await.map_err(|_| LogError::Closed)?
        })
    }

    fn read_after(&self, after: Seq, max: usize) -> Result<Vec<(Seq, Arc<StoredEvent>)>, LogError> {
        let wanted = after + 1;
        if let Some(events) = self.tail.read(wanted, max) {
            return Ok(events);
        }
        // The batch holding `wanted` starts at or before it.
        let start = match self.batches.range(..=seq_key(wanted)).next_back() {
            Some(entry) => entry?.0,
            None => sled::IVec::from(&seq_key(0)),
        };
        let mut events = Vec::new();
        for entry in self.batches.range(start..) {
            let (key, value) = entry?;
            let first = key_seq(&key)?;
            let batch = self
                .behind
                .get_or_decode(first, || Ok(decode_batch(&value)?.events.into_iter().map(Arc::new).collect()))?;
            let skip = wanted.saturating_sub(first) as usize;
            for (offset, event) in batch.iter().enumerate().skip(skip) {
                events.push((first + offset as u64, event.clone()));
                if events.len() == max {
                    return Ok(events);
                }
            }
        }
        Ok(events)
    }

    fn last_seq(&self) -> Seq {
        *self.last.borrow()
    }

    fn watch(&self) -> watch::Receiver<Seq> {
        self.last.subscribe()
    }

    fn open_consumer(&self, consumer: &str) -> Result<Seq, LogError> {
        if let Some(cursor) = self.cursors.get(consumer)? {
            return key_seq(&cursor);
        }
        let start = self.last_seq();
        self.cursors.insert(consumer, &seq_key(start))?;
        Ok(start)
    }

    fn cursor(&self, consumer: &str) -> Result<Option<Seq>, LogError> {
        self.cursors.get(consumer)?.map(|cursor| key_seq(&cursor)).transpose()
    }

    fn ack(&self, consumer: &str, seq: Seq) -> Result<Seq, LogError> {
        // Durable with the next flush: every plugin call that wrote state and every
        // durable append flushes the whole database. A crash before that redelivers
        // the last batch, which at-least-once allows.
        // A removed consumer stays removed: an ack never creates a cursor.
        let stored = self.cursors.update_and_fetch(consumer, |old| {
            let old = key_seq(old?).unwrap_or(0);
            Some(seq_key(old.max(seq)).to_vec())
        })?;
        stored.map_or(Ok(seq), |stored| key_seq(&stored))
    }

    fn bound_backlogs(&self, max_backlog: u64) -> Result<Vec<(String, u64)>, LogError> {
        let floor = self.last_seq().saturating_sub(max_backlog);
        let mut moved = Vec::new();
        for name in self.cursors.iter().keys() {
            let name = name?;
            let mut passed = 0;
            self.cursors.update_and_fetch(&name, |old| {
                let old = old.and_then(|old| key_seq(old).ok())?;
                passed = floor.saturating_sub(old);
                Some(seq_key(old.max(floor)).to_vec())
            })?;
            if passed > 0 {
                moved.push((String::from_utf8_lossy(&name).into_owned(), passed));
            }
        }
        Ok(moved)
    }

    fn lag(&self) -> Result<u64, LogError> {
        let slowest = self.slowest_cursor()?;
        Ok(self.last_seq().saturating_sub(slowest.unwrap_or(self.last_seq())))
    }

    fn lag_of(&self, prefix: &str) -> Result<u64, LogError> {
        let mut slowest: Option<Seq> = None;
        for entry in self.cursors.scan_prefix(prefix) {
            let seq = key_seq(&entry?.1)?;
            slowest = Some(slowest.map_or(seq, |current| current.min(seq)));
        }
        Ok(self.last_seq().saturating_sub(slowest.unwrap_or(self.last_seq())))
    }

    fn remove_consumers(&self, prefix: &str) -> Result<usize, LogError> {
        let mut removed = 0;
        for key in self.cursors.scan_prefix(prefix).keys() {
            self.cursors.remove(key?)?;
            removed += 1;
        }
        Ok(removed)
    }

    fn erase_household(&self, household: &str) -> Result<u64, LogError> {
        // The household's events are its devices' and the host's about it: tombstoning
        // them and forgetting their digests covers every id it had in the log.
        let mut erased = 0;
        for entry in self.batches.iter() {
            let (key, value) = entry?;
            let mut batch = decode_batch(&value)?;
            let mut offsets = Vec::new();
            for (offset, event) in batch.events.iter_mut().enumerate() {
                if event.household == household && !event.pseudonymous {
                    *event = tombstone(event);
                    offsets.push(offset);
                }
            }
            if !offsets.is_empty() {
                let bytes = serde_json::to_vec(&batch)
                    .map_err(|error| LogError::Storage(format!("encoding a batch: {error}")))?;
                // Compaction may have removed the batch meanwhile; then nothing is left to erase.
                if self.batches.compare_and_swap(&key, Some(value), Some(bytes))?.is_ok() {
                    self.index.forget_events(&self.keys, key_seq(&key)?, &offsets)?;
                    erased += offsets.len() as u64;
                }
            }
        }
        // Decoded copies of erased events may be in the tail; consumers read sled instead.
        self.tail.lock().clear();
        self.behind.clear();
        Ok(erased)
    }

    fn compact(&self, retention: Duration) -> Result<u64, LogError> {
        let Some(slowest) = self.slowest_cursor()? else {
            return Ok(0);
        };
        let cutoff_ms = crate::clock::now_ms().saturating_sub(retention.as_millis() as u64);
        let mut removed = 0;
        for entry in self.batches.iter() {
            let (key, value) = entry?;
            let batch = decode_batch(&value)?;
            let last = key_seq(&key)? + batch.events.len() as u64 - 1;
            if last > slowest || batch.appended_ms > cutoff_ms {
                break;
            }
            // Idempotency holds for as long as the log retains an event. The batch goes
            // first: a crash in between leaves entries of events every consumer has
            // handled, which still (rightly) answer a resend as a duplicate.
            self.batches.remove(&key)?;
            self.index.forget_batch(&self.keys, key_seq(&key)?)?;
            removed += batch.events.len() as u64;
        }
        Ok(removed)
    }
}

/// What an erased event becomes: addressed to no plugin, so never delivered, and
/// holding nothing of the household.
fn tombstone(event: &StoredEvent) -> StoredEvent {
    StoredEvent {
        id: String::new(),
        topic: CONSENT_REVOKED.to_owned(),
        time_ms: event.time_ms,
        household: String::new(),
        device: None,
        body: EventBody::ConsentRevoked,
        target: Some(String::new()),
        pseudonymous: true,
    }
}

impl SledLog {
    fn slowest_cursor(&self) -> Result<Option<Seq>, LogError> {
        let mut slowest: Option<Seq> = None;
        for entry in self.cursors.iter() {
            let seq = key_seq(&entry?.1)?;
            slowest = Some(slowest.map_or(seq, |current| current.min(seq)));
        }
        Ok(slowest)
    }
}

/// The one writer of the log: assigns sequence numbers, drops duplicate ids, writes
/// one entry per appended batch and flushes once per group.
struct Committer {
    tail: Arc<Tail>,
    db: sled::Db,
    batches: sled::Tree,
    keys: sled::Tree,
    index: DedupeIndex,
    next: Seq,
    durable: bool,
    last: watch::Sender<Seq>,
}

/// Appends committed together at most.
const GROUP_MAX: usize = 256;

/// Events at most in one stored batch made of several appends (an append of more is a
/// batch of its own; ingest takes at most 1,000 per request). Bounds what a read of
/// one batch decodes and what the tail's batches hold.
const MERGED_BATCH_MAX: usize = 1_000;

impl Committer {
    async fn run(mut self, mut queue: mpsc::Receiver<Command>) {
        let mut group = Vec::with_capacity(GROUP_MAX);
        let mut closing = false;
        while !closing && queue.recv_many(&mut group, GROUP_MAX).await > 0 {
            let mut appends = Vec::with_capacity(group.len());
            let mut replies = Vec::with_capacity(group.len());
            for command in group.drain(..) {
                match command {
                    Command::Append { events, reply } => {
                        appends.push(events);
                        replies.push(reply);
                    }
                    Command::Close => closing = true,
                }
            }
            let written = self.write_group(appends).into_iter().zip(replies);
            let flushed =
                if self.durable { crate::storage::sled::flush(&self.db).await.map_err(LogError::from) } else { Ok(()) };
            self.last.send_replace(self.next - 1);
            for (result, reply) in written {
                let result = match (&flushed, result) {
                    (Err(error), _) => Err(error.clone()),
                    (Ok(()), result) => result,
                };
                let _ = reply.send(result);
            }
        }
    }

    /// Writes a group's appends in order; consecutive appends share one stored batch
    /// of up to [`MERGED_BATCH_MAX`] events, so a group of single-event requests costs
    /// two sled inserts, not two per request.
    fn write_group(&mut self, appends: Vec<Vec<StoredEvent>>) -> Vec<Result<Vec<Appended>, LogError>> {
        let mut results = Vec::with_capacity(appends.len());
        let mut merged: Vec<Vec<StoredEvent>> = Vec::new();
        let mut merged_events = 0;
        for events in appends {
            if !merged.is_empty() && merged_events + events.len() > MERGED_BATCH_MAX {
                results.extend(self.write_merged(std::mem::take(&mut merged)));
                merged_events = 0;
            }
            merged_events += events.len();
            merged.push(events);
        }
        if !merged.is_empty() {
            results.extend(self.write_merged(merged));
        }
        results
    }

    /// One stored batch of several appends; a failure fails every one of them.
    fn write_merged(&mut self, appends: Vec<Vec<StoredEvent>>) -> Vec<Result<Vec<Appended>, LogError>> {
        let count = appends.len();
        match self.write(appends) {
            Ok(appended) => appended.into_iter().map(Ok).collect(),
            Err(error) => vec![Err(error); count],
        }
    }

    fn write(&mut self, appends: Vec<Vec<StoredEvent>>) -> Result<Vec<Vec<Appended>>, LogError> {
        let first = self.next;
        // Held until the batch is written: compaction and erasure wait meanwhile.
        let index = self.index.clone();
        let mut positions = index.lock();
        // Each event's place: the seq it already has (a duplicate, stored before or
        // earlier in this batch) or the next fresh one.
        let mut answers = Vec::with_capacity(appends.len());
        let mut in_batch: std::collections::HashMap<Digest, Seq> = std::collections::HashMap::new();
        let mut fresh = Vec::new();
        let mut fresh_digests = Vec::new();
        for events in appends {
            let mut appended = Vec::with_capacity(events.len());
            for event in events {
                let digest = super::dedupe::digest(&event);
                match positions.get(&digest).or_else(|| in_batch.get(&digest)).copied() {
                    Some(seq) => appended.push(Appended { seq, duplicate: true }),
                    None => {
                        let seq = first + fresh.len() as u64;
                        in_batch.insert(digest, seq);
                        appended.push(Appended { seq, duplicate: false });
                        fresh.push(event);
                        fresh_digests.push(digest);
                    }
                }
            }
            answers.push(appended);
        }
        if fresh.is_empty() {
            return Ok(answers);
        }
        let count = fresh.len() as u64;
        let record = BatchRecord { appended_ms: crate::clock::now_ms(), events: fresh };
        let bytes =
            serde_json::to_vec(&record).map_err(|error| LogError::Storage(format!("encoding a batch: {error}")))?;
        // The batch first: a crash before its digests are written leaves a batch that
        // opening the log completes, never digests without their events.
        self.batches.insert(seq_key(first), bytes)?;
        self.keys.insert(seq_key(first), super::dedupe::encode(&fresh_digests))?;
        positions.extend(in_batch);
        self.tail.push(first, record.events.into_iter().map(Arc::new).collect());
        self.next += count;
        Ok(answers)
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
