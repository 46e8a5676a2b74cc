//! The event log: the durable queue between ingest and the plugins.
//!
//! Events are appended in batches; each appended batch is one sled entry keyed by the
//! sequence number of its first event (like Kafka's record batches), and concurrent
//! appends share one flush (group commit): a single committer task drains every
//! append waiting, writes them, flushes once, then answers them all. Each consumer has
//! a cursor (the last sequence number it acknowledged). Batches every consumer has
//! passed are deleted once older than the retention window.
//!
//! Crash consistency: a batch is written before the dedupe entries of its events. sled
//! recovers a prefix of its writes, so after a crash at any point a batch may lack
//! some of its entries, but an entry never points at a batch that is not there (that
//! state — left by writing entries first — made a resent event look like a duplicate
//! and lost it). Opening the log checks the two agree and repairs what it finds: it
//! adds the entries the newest batches lack and removes any entry pointing past the
//! last batch. (A sled transaction over both trees gives the same guarantee but takes
//! sled's global write lock per append: 0.4× the single-event ingest rate.)
//!
//! Dedupe keys are scoped: a device's ids are its own (`d` device NUL id) and events
//! the host makes live under `h` household NUL id, which no device can write; so one
//! tenant can neither suppress another's events nor learn that an id exists.
//!
//! JetStream mapping (the clustered backend): `append` = publish to the events stream
//! with `Nats-Msg-Id` = the scoped dedupe key (the stream's duplicate window gives idempotency);
//! consumers = durable pull consumers with a filter subject per subscription pattern;
//! `read_after` = fetch; `ack` = ack of the last message of the batch (AckAll policy);
//! retention = a `Limits` stream with `max_age`, or `Interest` retention.

use crate::bindings::EventBody;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Position of an event in the log; the first event is 1, a cursor of 0 means none.
pub type Seq = u64;

/// An event as the log keeps it: real ids (pseudonymised only on delivery).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub id: String,
    pub topic: String,
    pub time_ms: u64,
    pub household: String,
    pub device: Option<String>,
    pub body: EventBody,
    /// Host events meant for one plugin only (consent revoked, order confirmed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `household` already is the target plugin's ref, not a real id: the notices of
    /// an erasure, which must not keep the erased id in the log.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pseudonymous: bool,
}

impl StoredEvent {
    /// The key under which the log deduplicates this event: scoped to the device that
    /// sent it, or to the host (and household) for events the host made.
    pub fn dedupe_key(&self) -> Vec<u8> {
        let mut key = match &self.device {
            Some(device) => device_dedupe_prefix(device),
            None => host_dedupe_prefix(&self.household),
        };
        key.extend_from_slice(self.id.as_bytes());
        key
    }
}

/// The prefix of every dedupe key of events `device` sent.
pub fn device_dedupe_prefix(device: &str) -> Vec<u8> {
    scoped_prefix(b'd', device)
}

/// The prefix of every dedupe key of host events about `household`.
pub fn host_dedupe_prefix(household: &str) -> Vec<u8> {
    scoped_prefix(b'h', household)
}

/// A namespace byte, the scope and NUL (which no id or scope contains).
fn scoped_prefix(namespace: u8, scope: &str) -> Vec<u8> {
    let mut prefix = Vec::with_capacity(scope.len() + 48);
    prefix.push(namespace);
    prefix.extend_from_slice(scope.as_bytes());
    prefix.push(0);
    prefix
}

/// What opening the log found and repaired after a crash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Repair {
    /// Dedupe entries pointing past the last stored batch (removed).
    pub dangling_ids: u64,
    /// Events of the newest batches that had no dedupe entry (added).
    pub missing_ids: u64,
}

/// The outcome of appending one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub seq: Seq,
    /// The event id was already in the log; nothing new was stored.
    pub duplicate: bool,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum LogError {
    #[error("event log storage: {0}")]
    Storage(String),
    #[error("event log is closed")]
    Closed,
}

impl From<sled::Error> for LogError {
    fn from(error: sled::Error) -> Self {
        LogError::Storage(error.to_string())
    }
}

/// The event log's operations; [`SledLog`] is the embedded backend.
pub trait EventLog: Send + Sync + 'static {
    /// Appends events; returns once they are durable. An event whose dedupe key
    /// ([`StoredEvent::dedupe_key`]) is already in the log is not stored again and
    /// reports the first copy's position.
    fn append(
        &self,
        events: Vec<StoredEvent>,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Appended>, LogError>> + Send + '_>>;
    /// Up to `max` events after `after`, in order.
    fn read_after(&self, after: Seq, max: usize) -> Result<Vec<(Seq, Arc<StoredEvent>)>, LogError>;
    /// The last sequence number appended.
    fn last_seq(&self) -> Seq;
    /// Watches the last sequence number, to wait for new events.
    fn watch(&self) -> watch::Receiver<Seq>;
    /// The consumer's cursor, creating the consumer at the end of the log if new.
    fn open_consumer(&self, consumer: &str) -> Result<Seq, LogError>;
    /// Moves the consumer's cursor forward to `seq` (everything up to it is handled);
    /// never backwards. Returns the cursor now stored, which is past `seq` when the
    /// backlog bound moved it on meanwhile.
    fn ack(&self, consumer: &str, seq: Seq) -> Result<Seq, LogError>;
    /// Moves every consumer more than `max_backlog` events behind forward to that
    /// bound; returns each moved consumer with how many events it passed over.
    fn bound_backlogs(&self, max_backlog: u64) -> Result<Vec<(String, u64)>, LogError>;
    /// Events appended but not yet acknowledged by the slowest consumer.
    fn lag(&self) -> Result<u64, LogError>;
    /// Events the slowest consumer whose name starts with `prefix` has not handled.
    fn lag_of(&self, prefix: &str) -> Result<u64, LogError>;
    /// Deletes batches every consumer has passed and that are older than `retention`;
    /// returns how many events were removed.
    fn compact(&self, retention: Duration) -> Result<u64, LogError>;
    /// Forgets the consumers whose names start with `prefix` (an uninstalled plugin's).
    fn remove_consumers(&self, prefix: &str) -> Result<usize, LogError>;
    /// Erases a household from the log: its stored events become tombstones that no
    /// subscription selects (positions stay), and its devices' and its host events'
    /// dedupe entries go. Returns how many events were erased.
    fn erase_household(&self, household: &str, devices: &[String]) -> Result<u64, LogError>;
}

/// Batches whose dedupe entries are checked when the log opens (the ones a crash
/// can have interrupted are the newest).
const CHECKED_ON_OPEN: usize = 64;

/// The sled tree of dedupe entries (scoped key → seq). The unscoped tree of earlier
/// versions is dropped on open.
const DEDUPE_TREE: &str = "event-dedupe";
const UNSCOPED_IDS_TREE: &str = "event-ids";

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
    ids: sled::Tree,
    cursors: sled::Tree,
    last: watch::Sender<Seq>,
    commands: mpsc::Sender<Command>,
    committer: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The newest batches, decoded and shared: consumers that keep up never decode.
    tail: Arc<Tail>,
}

/// Batches kept decoded in memory.
const TAIL_BATCHES: usize = 256;

/// A decoded batch, shared between the tail and the consumers reading it.
type SharedBatch = Arc<[Arc<StoredEvent>]>;
type TailBatches = std::collections::VecDeque<(Seq, SharedBatch)>;

#[derive(Default)]
struct Tail {
    batches: std::sync::Mutex<TailBatches>,
}

impl Tail {
    fn lock(&self) -> std::sync::MutexGuard<'_, TailBatches> {
        self.batches.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, first: Seq, events: SharedBatch) {
        let mut batches = self.lock();
        if batches.len() == TAIL_BATCHES {
            batches.pop_front();
        }
        batches.push_back((first, events));
    }

    /// Events from `wanted` on, if the tail reaches back that far.
    fn read(&self, wanted: Seq, max: usize) -> Option<Vec<(Seq, Arc<StoredEvent>)>> {
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

impl std::fmt::Debug for SledLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledLog").field("last_seq", &*self.last.borrow()).finish_non_exhaustive()
    }
}

fn seq_key(seq: Seq) -> [u8; 8] {
    seq.to_be_bytes()
}

fn key_seq(key: &[u8]) -> Result<Seq, LogError> {
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
        if db.tree_names().iter().any(|name| name.as_ref() == UNSCOPED_IDS_TREE.as_bytes()) {
            db.drop_tree(UNSCOPED_IDS_TREE)?;
        }
        let ids = db.open_tree(DEDUPE_TREE)?;
        let last_seq = match batches.last()? {
            Some((key, value)) => key_seq(&key)? + decode_batch(&value)?.events.len() as u64 - 1,
            None => 0,
        };
        let repair = repair(&batches, &ids, last_seq)?;
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
            ids: ids.clone(),
            next: last_seq + 1,
            durable,
            last: last.clone(),
        };
        let committer = std::sync::Mutex::new(Some(tokio::spawn(committer.run(queue))));
        Ok(Arc::new(SledLog { batches, ids, cursors: db.open_tree("cursors")?, last, commands, committer, tail }))
    }

    /// Finishes the appends already queued and stops the committer; later appends
    /// fail with [`LogError::Closed`].
    pub async fn close(&self) {
        let _ = self.commands.send(Command::Close).await;
        let committer = self.committer.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(committer) = committer {
            let _ = committer.await;
        }
    }
}

impl EventLog for SledLog {
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
            for (offset, event) in decode_batch(&value)?.events.into_iter().enumerate() {
                let seq = first + offset as u64;
                if seq >= wanted {
                    events.push((seq, Arc::new(event)));
                    if events.len() == max {
                        return Ok(events);
                    }
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

    fn ack(&self, consumer: &str, seq: Seq) -> Result<Seq, LogError> {
        // Durable with the next flush: every plugin call that wrote state and every
        // durable append flushes the whole database. A crash before that redelivers
        // the last batch, which at-least-once allows.
        let stored = self.cursors.update_and_fetch(consumer, |old| {
            let old = old.and_then(|old| key_seq(old).ok()).unwrap_or(0);
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

    fn erase_household(&self, household: &str, devices: &[String]) -> Result<u64, LogError> {
        let mut erased = 0;
        for entry in self.batches.iter() {
            let (key, value) = entry?;
            let mut batch = decode_batch(&value)?;
            let mut touched = false;
            for event in &mut batch.events {
                if event.household == household && !event.pseudonymous {
                    *event = tombstone(event);
                    touched = true;
                    erased += 1;
                }
            }
            if touched {
                let bytes = serde_json::to_vec(&batch)
                    .map_err(|error| LogError::Storage(format!("encoding a batch: {error}")))?;
                // Compaction may have removed the batch meanwhile; then nothing is left to erase.
                let _ = self.batches.compare_and_swap(&key, Some(value), Some(bytes))?;
            }
        }
        let prefixes = devices.iter().map(|device| device_dedupe_prefix(device)).chain([host_dedupe_prefix(household)]);
        for prefix in prefixes {
            for key in self.ids.scan_prefix(prefix).keys() {
                self.ids.remove(key?)?;
            }
        }
        // Decoded copies of erased events may be in the tail; consumers read sled instead.
        self.tail.lock().clear();
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
            for event in &batch.events {
                self.ids.remove(event.dedupe_key())?;
            }
            removed += batch.events.len() as u64;
        }
        Ok(removed)
    }
}

/// Makes the dedupe entries agree with the stored batches: an entry pointing past
/// `last_seq` belongs to a batch that never landed (its event was not stored, so a
/// resend must be stored), and every event of the newest batches has its entry.
fn repair(batches: &sled::Tree, ids: &sled::Tree, last_seq: Seq) -> Result<Repair, LogError> {
    let mut repair = Repair::default();
    for entry in ids.iter() {
        let (key, value) = entry?;
        if key_seq(&value)? > last_seq {
            ids.remove(key)?;
            repair.dangling_ids += 1;
        }
    }
    for entry in batches.iter().rev().take(CHECKED_ON_OPEN) {
        let (key, value) = entry?;
        let first = key_seq(&key)?;
        for (offset, event) in decode_batch(&value)?.events.iter().enumerate() {
            let key = event.dedupe_key();
            if !ids.contains_key(&key)? {
                ids.insert(key, &seq_key(first + offset as u64))?;
                repair.missing_ids += 1;
            }
        }
    }
    Ok(repair)
}

/// What an erased event becomes: addressed to no plugin, so never delivered, and
/// holding nothing of the household.
fn tombstone(event: &StoredEvent) -> StoredEvent {
    StoredEvent {
        id: String::new(),
        topic: super::catalog::CONSENT_REVOKED.to_owned(),
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
    ids: sled::Tree,
    next: Seq,
    durable: bool,
    last: watch::Sender<Seq>,
}

/// Appends committed together at most.
const GROUP_MAX: usize = 256;

impl Committer {
    async fn run(mut self, mut queue: mpsc::Receiver<Command>) {
        let mut group = Vec::with_capacity(GROUP_MAX);
        let mut closing = false;
        while !closing && queue.recv_many(&mut group, GROUP_MAX).await > 0 {
            let mut written = Vec::with_capacity(group.len());
            for command in group.drain(..) {
                match command {
                    Command::Append { events, reply } => written.push((self.write(events), reply)),
                    Command::Close => closing = true,
                }
            }
            let flushed =
                if self.durable { self.db.flush_async().await.map(drop).map_err(LogError::from) } else { Ok(()) };
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

    fn write(&mut self, events: Vec<StoredEvent>) -> Result<Vec<Appended>, LogError> {
        let first = self.next;
        // Each event's place: the seq it already has (a duplicate, stored before or
        // earlier in this batch) or the next fresh one.
        let keys: Vec<Vec<u8>> = events.iter().map(StoredEvent::dedupe_key).collect();
        let mut appended = Vec::with_capacity(events.len());
        let mut in_batch: std::collections::HashMap<&[u8], Seq> = std::collections::HashMap::new();
        for key in &keys {
            let existing = match self.ids.get(key)? {
                Some(existing) => Some(key_seq(&existing)?),
                None => in_batch.get(key.as_slice()).copied(),
            };
            match existing {
                Some(seq) => appended.push(Appended { seq, duplicate: true }),
                None => {
                    let seq = first + in_batch.len() as u64;
                    in_batch.insert(key, seq);
                    appended.push(Appended { seq, duplicate: false });
                }
            }
        }
        drop(in_batch);
        let mut fresh = Vec::with_capacity(events.len());
        let mut fresh_keys = Vec::with_capacity(events.len());
        for ((event, key), appended) in events.into_iter().zip(keys).zip(&appended) {
            if !appended.duplicate {
                fresh.push(event);
                fresh_keys.push(key);
            }
        }
        if fresh.is_empty() {
            return Ok(appended);
        }
        let count = fresh.len() as u64;
        let record = BatchRecord { appended_ms: crate::clock::now_ms(), events: fresh };
        let bytes =
            serde_json::to_vec(&record).map_err(|error| LogError::Storage(format!("encoding a batch: {error}")))?;
        // The batch first: a crash before its entries are written leaves a batch that
        // opening the log completes, never an entry without its event.
        self.batches.insert(seq_key(first), bytes)?;
        for (offset, key) in fresh_keys.iter().enumerate() {
            self.ids.insert(key.as_slice(), &seq_key(first + offset as u64))?;
        }
        self.tail.push(first, record.events.into_iter().map(Arc::new).collect());
        self.next += count;
        Ok(appended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{DoorState, EventBody};

    fn event(id: &str) -> StoredEvent {
        StoredEvent {
            id: id.into(),
            topic: "appliance.fridge.door".into(),
            time_ms: 1,
            household: "h".into(),
            device: Some("d".into()),
            body: EventBody::FridgeDoor(DoorState::Open),
            target: None,
            pseudonymous: false,
        }
    }

    fn ids(events: &[(Seq, Arc<StoredEvent>)]) -> Vec<(Seq, &str)> {
        events.iter().map(|(seq, e)| (*seq, e.id.as_str())).collect()
    }

    #[tokio::test]
    async fn appends_read_back_in_order_across_batches_and_dedupe_ids() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let log = SledLog::open(&db, true).unwrap();
        let first = log.append(vec![event("a"), event("b"), event("a")]).await.unwrap();
        assert_eq!(
            first,
            [
                Appended { seq: 1, duplicate: false },
                Appended { seq: 2, duplicate: false },
                Appended { seq: 1, duplicate: true }
            ]
        );
        let second = log.append(vec![event("b"), event("c")]).await.unwrap();
        assert_eq!(second, [Appended { seq: 2, duplicate: true }, Appended { seq: 3, duplicate: false }]);
        assert_eq!(log.last_seq(), 3);
        assert_eq!(ids(&log.read_after(0, 10).unwrap()), [(1, "a"), (2, "b"), (3, "c")]);
        assert_eq!(ids(&log.read_after(1, 1).unwrap()), [(2, "b")]);
        assert_eq!(ids(&log.read_after(2, 10).unwrap()), [(3, "c")]);
        assert!(log.read_after(3, 10).unwrap().is_empty());
    }

    /// Reads from the decoded tail (batch sizes 1..=7, more batches than it keeps) and
    /// from sled after a reopen (empty tail) give the same events for every cursor.
    #[tokio::test]
    async fn the_tail_and_the_stored_log_read_alike() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let log = SledLog::open(&db, false).unwrap();
        let mut n = 0;
        for batch in 0..TAIL_BATCHES + 40 {
            let events = (0..batch % 7 + 1)
                .map(|_| {
                    n += 1;
                    event(&format!("e{n}"))
                })
                .collect();
            log.append(events).await.unwrap();
        }
        let last = log.last_seq();
        let from_tail: Vec<_> = (0..=last)
            .map(|after| {
                ids(&log.read_after(after, 5).unwrap())
                    .iter()
                    .map(|(seq, id)| (*seq, id.to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        log.close().await;
        let reopened = SledLog::open(&db, false).unwrap();
        for after in 0..=last {
            let stored: Vec<_> =
                ids(&reopened.read_after(after, 5).unwrap()).iter().map(|(seq, id)| (*seq, id.to_string())).collect();
            assert_eq!(stored, from_tail[after as usize], "after {after}");
            let expected: Vec<u64> = (after + 1..=last.min(after + 5)).collect();
            assert_eq!(stored.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), expected);
        }
    }

    #[tokio::test]
    async fn concurrent_appends_share_commits_and_get_distinct_positions() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let log = SledLog::open(&db, true).unwrap();
        let tasks: Vec<_> = (0..50)
            .map(|n| {
                let log = log.clone();
                tokio::spawn(async move { log.append(vec![event(&format!("e{n}"))]).await.unwrap()[0].seq })
            })
            .collect();
        let mut seqs = Vec::new();
        for task in tasks {
            seqs.push(task.await.unwrap());
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=50).collect::<Vec<_>>());
        assert_eq!(log.read_after(0, 100).unwrap().len(), 50);
    }

    #[tokio::test]
    async fn cursors_lag_compaction_and_restart() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            let log = SledLog::open(&db, true).unwrap();
            log.append(vec![event("early")]).await.unwrap();
            // A new consumer starts at the end: it does not see history.
            assert_eq!(log.open_consumer("slow").unwrap(), 1);
            assert_eq!(log.open_consumer("fast").unwrap(), 1);
            log.append(vec![event("a"), event("b")]).await.unwrap();
            log.append(vec![event("c")]).await.unwrap();
            assert_eq!(log.lag().unwrap(), 3);
            log.ack("fast", 4).unwrap();
            assert_eq!(log.ack("slow", 3).unwrap(), 3);
            assert_eq!(log.ack("slow", 2).unwrap(), 3, "cursors never move back");
            assert_eq!(log.lag().unwrap(), 1);
            // Batches [1] and [2,3] are passed by both; [4] is not.
            assert_eq!(log.compact(Duration::ZERO).unwrap(), 3);
            assert_eq!(ids(&log.read_after(3, 10).unwrap()), [(4, "c")]);
            // Compacted ids may be used again; retained ones are still deduplicated.
            assert_eq!(log.append(vec![event("c")]).await.unwrap()[0], Appended { seq: 4, duplicate: true });
            log.close().await;
            assert!(matches!(log.append(vec![event("late")]).await, Err(LogError::Closed)));
            db.flush().unwrap();
        }
        let db = sled::open(dir.path()).unwrap();
        let log = SledLog::open(&db, true).unwrap();
        assert_eq!(log.last_seq(), 4);
        // Read back from disk (the in-memory tail starts empty), compacted batches gone.
        assert_eq!(ids(&log.read_after(0, 10).unwrap()), [(4, "c")]);
        assert_eq!(log.open_consumer("slow").unwrap(), 3);
        assert_eq!(log.append(vec![event("d")]).await.unwrap()[0], Appended { seq: 5, duplicate: false });
    }

    #[tokio::test]
    async fn retention_keeps_recent_batches() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let log = SledLog::open(&db, false).unwrap();
        log.open_consumer("only").unwrap();
        log.append(vec![event("a")]).await.unwrap();
        log.ack("only", 1).unwrap();
        assert_eq!(log.compact(Duration::from_secs(3600)).unwrap(), 0);
        assert_eq!(log.compact(Duration::ZERO).unwrap(), 1);
    }

    fn from_device(id: &str, device: &str, household: &str) -> StoredEvent {
        StoredEvent { device: Some(device.into()), household: household.into(), ..event(id) }
    }

    /// Ids are the sending device's own: another device (of another household) may use
    /// the same id and is stored; host events live where no device can write.
    #[tokio::test]
    async fn dedupe_is_scoped_to_the_device_and_host_events_apart() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let log = SledLog::open(&db, true).unwrap();
        let a = log.append(vec![from_device("x", "dev-a", "h-a")]).await.unwrap();
        let b = log.append(vec![from_device("x", "dev-b", "h-b")]).await.unwrap();
        assert_eq!((a[0].duplicate, b[0].duplicate), (false, false));
        assert_ne!(a[0].seq, b[0].seq);
        let host_event = StoredEvent { device: None, household: "h-a".into(), ..event("x") };
        assert!(!log.append(vec![host_event.clone()]).await.unwrap()[0].duplicate);
        assert!(log.append(vec![host_event]).await.unwrap()[0].duplicate);
        // A device cannot forge a key in the host's namespace, whatever its id.
        let forged = from_device("h-a\0x", "dev-a", "h-a");
        assert!(!log.append(vec![forged]).await.unwrap()[0].duplicate);
        assert_eq!(log.append(vec![from_device("x", "dev-a", "h-a")]).await.unwrap()[0], a[0].with_duplicate());
    }

    impl Appended {
        fn with_duplicate(self) -> Appended {
            Appended { duplicate: true, ..self }
        }
    }

    /// A crash between writing dedupe entries and their batch (the state an unordered
    /// write leaves) is found on open: the entries go, and a resend is stored and read.
    #[tokio::test]
    async fn opening_repairs_dedupe_entries_whose_batch_never_landed() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        {
            let log = SledLog::open(&db, true).unwrap();
            log.append(vec![event("kept")]).await.unwrap();
            log.close().await;
        }
        // The crash: entries for seqs 2..=4 written, their batch not.
        let dedupe = db.open_tree(DEDUPE_TREE).unwrap();
        for (seq, id) in [(2u64, "lost-1"), (3, "lost-2"), (4, "lost-3")] {
            dedupe.insert(event(id).dedupe_key(), &seq_key(seq)).unwrap();
        }
        // And a batch whose entries are missing.
        let batches = db.open_tree("log").unwrap();
        let record = BatchRecord { appended_ms: 1, events: vec![event("stray")] };
        batches.insert(seq_key(2), serde_json::to_vec(&record).unwrap()).unwrap();
        dedupe.insert(event("lost-1").dedupe_key(), &seq_key(3)).unwrap();

        let log = SledLog::open(&db, true).unwrap();
        assert_eq!(log.last_seq(), 2);
        let resent = log.append(vec![event("lost-1"), event("lost-2"), event("lost-3"), event("stray")]).await.unwrap();
        assert_eq!(
            resent,
            [
                Appended { seq: 3, duplicate: false },
                Appended { seq: 4, duplicate: false },
                Appended { seq: 5, duplicate: false },
                Appended { seq: 2, duplicate: true },
            ]
        );
        assert_eq!(
            ids(&log.read_after(0, 10).unwrap()),
            [(1, "kept"), (2, "stray"), (3, "lost-1"), (4, "lost-2"), (5, "lost-3")]
        );
    }

    /// Batches of random sizes (fixed seed): every acknowledged event is read back
    /// after a reopen, and resending it is a duplicate.
    /// (Killing the real server mid-append is `tests/crash.rs`.)
    #[tokio::test]
    async fn acknowledged_batches_survive_a_reopen_with_their_ids() {
        let dir = tempfile::tempdir().unwrap();
        let mut acknowledged = Vec::new();
        {
            let db = sled::open(dir.path()).unwrap();
            let log = SledLog::open(&db, true).unwrap();
            let mut seed = 0x5eed_u64;
            for batch in 0..40 {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let size = (seed >> 33) % 50 + 1;
                let events: Vec<_> = (0..size).map(|n| event(&format!("b{batch}-{n}"))).collect();
                acknowledged.extend(events.iter().map(|e| e.id.clone()));
                log.append(events).await.unwrap();
            }
            log.close().await;
        }
        let db = sled::open(dir.path()).unwrap();
        let log = SledLog::open(&db, true).unwrap();
        let stored: Vec<String> = log.read_after(0, 10_000).unwrap().iter().map(|(_, e)| e.id.clone()).collect();
        assert_eq!(stored, acknowledged);
        let again: Vec<_> = acknowledged.iter().map(|id| event(id)).collect();
        assert!(log.append(again).await.unwrap().iter().all(|a| a.duplicate));
    }

    /// Consumers past the backlog bound move up to it, once; an ack of a position
    /// before that answers the stored cursor so the consumer skips ahead too.
    #[tokio::test]
    async fn backlogs_are_bounded_per_consumer() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let log = SledLog::open(&db, false).unwrap();
        log.open_consumer("stuck").unwrap();
        log.open_consumer("keeping-up").unwrap();
        log.append((0..30).map(|n| event(&format!("e{n}"))).collect()).await.unwrap();
        log.ack("keeping-up", 25).unwrap();
        assert_eq!(log.bound_backlogs(10).unwrap(), [("stuck".to_owned(), 20)]);
        assert!(log.bound_backlogs(10).unwrap().is_empty(), "nothing more to pass over");
        assert_eq!(log.lag_of("stuck").unwrap(), 10);
        assert_eq!(log.ack("stuck", 3).unwrap(), 20, "the consumer learns where it stands");
    }
}
