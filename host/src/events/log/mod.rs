//! The event log: the durable queue between ingest and the plugins.
//!
//! Events are appended in batches and stored in batches: one sled entry keyed by the
//! sequence number of its first event (like Kafka's record batches). Concurrent
//! appends share one flush (group commit): a single committer task drains every
//! append waiting, stores consecutive ones together (up to 1,000 events per stored
//! batch), flushes once, then answers them all. Each consumer has
//! a cursor (the last sequence number it acknowledged). Batches every consumer has
//! passed are deleted once older than the retention window.
//!
//! Dedupe: the log knows every retained event's scoped id by a digest, in memory, and
//! keeps the digests on disk as one list per batch (`dedupe.rs`); a sled entry per
//! event had cost more than the rest of ingest.
//!
//! Crash consistency: a batch is written before its digest list. sled recovers a
//! prefix of its writes, so after a crash at any point a batch may lack its list, but
//! a list never stands for a batch that is not there (that state — left by writing the
//! ids first — made a resent event look like a duplicate and lost it). Opening the log
//! checks the two agree and repairs what it finds: it adds the lists batches lack and
//! removes lists whose batch is gone. (A sled transaction over both trees gives the
//! same guarantee but takes sled's global write lock per append: 0.4× the single-event
//! ingest rate.)
//!
//! Dedupe keys are scoped: a device's ids are its own (`d` device NUL id) and events
//! the host makes live under `h` household NUL id, which no device can write; so one
//! tenant can neither suppress another's events nor learn that an id exists.
//!
//! The clustered backend (`hearth-nats`) keeps the same contract on a JetStream
//! stream, divided into partitions so that hosts can share a subscription's work.

pub mod conformance;
mod decoded;
mod dedupe;
mod sled;

pub use sled::SledLog;

use crate::HostError;
use crate::bindings::{EventBody, OrderConfirmation};
use crate::events::catalog::{CONSENT_REVOKED, ORDER_CONFIRMED};
use crate::storage::scoped_key;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Position of an event in the log; the first event is 1, a cursor of 0 means none.
pub type Seq = u64;

/// What the log knows of a partition after a read of it found nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quiet {
    /// The partition holds no event after the read's start up to this position: its
    /// cursor may skip there, so it keeps up although other partitions get the events.
    Through(Seq),
    /// The partition holds an event the read did not return (it read from a replica
    /// that is behind): read again shortly rather than wait for the next append.
    Missed,
    /// The backend cannot tell; its reads return every event appended.
    Unknown,
}

/// An event as the log keeps it: real ids (pseudonymised only on delivery).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Unique per device (or, for host events, per household).
    pub id: String,
    /// The catalogue topic.
    pub topic: String,
    /// When it happened, ms since the epoch.
    pub time_ms: u64,
    /// The real household id (or the target plugin's ref when `pseudonymous`).
    pub household: String,
    /// The real device id, for events a device sent.
    pub device: Option<String>,
    /// The typed body.
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
    /// The host's notice to `plugin` that `household` withdrew its consent.
    /// `pseudonymous`: `household` already is the plugin's ref (an erasure's notice).
    pub fn consent_revoked(household: String, plugin: String, pseudonymous: bool) -> Result<Self, HostError> {
        Ok(StoredEvent {
            id: new_event_id()?,
            topic: CONSENT_REVOKED.to_owned(),
            time_ms: crate::clock::now_ms(),
            household,
            device: None,
            body: EventBody::ConsentRevoked,
            target: Some(plugin),
            pseudonymous,
        })
    }

    /// The host's notice to `plugin` that `household` confirmed its order `order_id`;
    /// its id is deterministic, so a retried confirmation is announced once.
    pub fn order_confirmed(household: &str, plugin: &str, order_id: &str, time_ms: u64) -> Self {
        StoredEvent {
            id: format!("order-confirmed:{plugin}/{order_id}"),
            topic: ORDER_CONFIRMED.to_owned(),
            time_ms,
            household: household.to_owned(),
            device: None,
            body: EventBody::OrderConfirmed(OrderConfirmation { order_id: order_id.to_owned() }),
            target: Some(plugin.to_owned()),
            pseudonymous: false,
        }
    }

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
    [&[namespace][..], &scoped_key(scope, "")].concat()
}

/// What opening the log found and repaired after a crash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Repair {
    /// Digests of events whose batch is not in the log (removed).
    pub dangling_ids: u64,
    /// Events of batches that had no digest list (added).
    pub missing_ids: u64,
}

/// The outcome of appending one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Its position (the first copy's, for a duplicate).
    pub seq: Seq,
    /// The event id was already in the log; nothing new was stored.
    pub duplicate: bool,
}

/// Why the log could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LogError {
    /// The backend failed.
    #[error("event log storage: {0}")]
    Storage(String),
    /// The log was closed (the host is shutting down).
    #[error("event log is closed")]
    Closed,
}

impl From<::sled::Error> for LogError {
    fn from(error: ::sled::Error) -> Self {
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
    /// How many partitions the log divides events into ([`partition_of`]): each is
    /// delivered on its own, so hosts can share a subscription's work. One by default.
    fn partitions(&self) -> u32 {
        1
    }
    /// Up to `max` events of `partition` after `after`, in order.
    fn read_partition(&self, partition: u32, after: Seq, max: usize) -> Result<Vec<(Seq, Arc<StoredEvent>)>, LogError> {
        let _ = partition;
        self.read_after(after, max)
    }
    /// After a read of `partition` past `after` found nothing: what the log knows of
    /// the partition up to `end` (the last sequence seen before that read). A backend
    /// whose reads always return everything appended answers [`Quiet::Unknown`].
    fn quiet_through(&self, partition: u32, after: Seq, end: Seq) -> Result<Quiet, LogError> {
        let _ = (partition, after, end);
        Ok(Quiet::Unknown)
    }
    /// Finishes the appends in flight; later appends fail with [`LogError::Closed`].
    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {})
    }
    /// The last sequence number appended.
    fn last_seq(&self) -> Seq;
    /// Watches the last sequence number, to wait for new events.
    fn watch(&self) -> watch::Receiver<Seq>;
    /// The consumer's cursor, creating the consumer at the end of the log if new.
    fn open_consumer(&self, consumer: &str) -> Result<Seq, LogError>;
    /// The consumer's stored cursor, without creating it (`None` once it was removed).
    fn cursor(&self, consumer: &str) -> Result<Option<Seq>, LogError>;
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
    fn erase_household(&self, household: &str) -> Result<u64, LogError>;
}

/// The partition of `event` among `partitions`: chosen by its device (or, for host
/// events, its household), so one device's events stay in one partition and in order.
/// Every host and every version must agree on it: the hash is fixed.
pub fn partition_of(event: &StoredEvent, partitions: u32) -> u32 {
    if partitions <= 1 {
        return 0;
    }
    let scope = event.device.as_deref().unwrap_or(&event.household);
    (crate::cluster::stable_hash(&[scope.as_bytes()]) % u64::from(partitions)) as u32
}

/// A random event id, `evt-` and 128 bits in hex.
pub fn new_event_id() -> Result<String, HostError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|error| HostError::Engine(format!("no randomness for an event id: {error}")))?;
    Ok(format!("evt-{}", hex::encode(bytes)))
}
