//! The event log on one JetStream stream.
//!
//! Each event is a message on `<stream>.e.<partition>.<household in hex>`, published
//! with a `Nats-Msg-Id` derived from its tenant-scoped dedupe key, so a resend within
//! the stream's duplicate window is answered with the first copy's sequence and not
//! stored again. An append returns once JetStream acknowledged every publish (stored on
//! a quorum of the stream's replicas). Stream sequences are the log's positions.
//!
//! Reads use short-lived pull consumers (no acks, in memory, one replica) started at
//! the wanted position and filtered to one partition; a reader that read up to `n` is
//! kept for the next read after `n`, so a consumer catching up costs one fetch per
//! batch. A reader is only trusted while it is given every message of its consumer in
//! turn (a gap in the consumer's sequence means an answer was lost, and with no acks it
//! is not given again), and a read that found nothing is checked against the stream's
//! leader: a reader behind it is dropped and the consumer reads again rather than
//! waiting for the next append. Cursors live in a KV bucket beside the stream. Hosts learn of each other's
//! appends through a core-NATS notice on `<stream>.tick`, and poll the stream's state
//! every second in case a notice was lost.
//!
//! Erasure purges the household's subjects: its events are gone and the positions of
//! every other event stay. JetStream keeps the ids it saw for the duplicate window even
//! after a purge, so each household has an erasure count (in `<stream>-erasures`, which
//! every host follows) that is part of its events' message ids: after an erasure, the
//! household's ids are new ids. The count also travels in each message's
//! `Hearth-Erasure` header, and a read passes over an event whose household was erased
//! since it was stored: a reader on a replica that has not applied the purge yet never
//! hands out an erased event.

use crate::{NatsStorage, SETUP_TIMEOUT, TRANSFER_TIMEOUT, backend, until_set_up, wait};
use async_nats::jetstream::consumer::{self, pull};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream;
use futures::StreamExt as _;
use hearth_host::events::log::{Appended, EventLog, LogError, Quiet, Seq, StoredEvent, partition_of};
use hearth_host::storage::{Bucket, BucketExt as _, StorageError, decode_u64};
use hearth_host::sync::lock;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How the events stream is made.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The stream's name; its subjects start with it, its cursors bucket is
    /// `<stream>-cursors`.
    pub stream: String,
    /// Partitions events are divided into by device (fixed once the stream exists).
    pub partitions: u32,
    /// Events older than this are removed by JetStream whether delivered or not.
    pub max_age: Duration,
    /// How long a resent event id is recognised as a duplicate.
    pub duplicate_window: Duration,
    /// The most the stream may hold, in bytes; the oldest events go first past it
    /// (`None`: no limit but `max_age`).
    pub max_bytes: Option<i64>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            stream: "hearth-events".into(),
            partitions: 8,
            max_age: Duration::from_secs(7 * 24 * 3600),
            duplicate_window: Duration::from_secs(120),
            max_bytes: None,
        }
    }
}

/// Readers kept per partition for the next read, at most.
const READERS: usize = 64;

/// How many positions a kept reader may have to pass over to be reused.
const READER_SKIP: Seq = 10_000;

/// A pull consumer (no acks) reading one partition, or all.
type Reader = consumer::Consumer<pull::Config>;

/// A reader left where its last read stopped: the position it reads next, and how
/// many messages it was given (its consumer's sequence).
struct KeptReader {
    next: Seq,
    delivered: u64,
    reader: Reader,
}

/// Readers kept per partition (or `None`: all).
type Readers = HashMap<Option<u32>, Vec<KeptReader>>;

/// The error of a reader whose consumer gave messages that never reached it (an answer
/// lost in a reconnection): with no acks they are not given again, so it is dropped.
const READER_SKIPPED: &str = "the reader skipped messages";

/// The event log on JetStream.
pub struct NatsLog {
    runtime: tokio::runtime::Handle,
    client: async_nats::Client,
    jetstream: async_nats::jetstream::Context,
    stream: stream::Stream,
    name: String,
    partitions: u32,
    cursors: Arc<dyn Bucket>,
    erasure_counts: Arc<dyn Bucket>,
    erasures: Erasures,
    last: watch::Sender<Seq>,
    readers: Mutex<Readers>,
    watcher: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for NatsLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsLog").field("stream", &self.name).finish_non_exhaustive()
    }
}

impl Drop for NatsLog {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

fn log_error(error: impl std::fmt::Display) -> LogError {
    LogError::Storage(error.to_string())
}

/// The message id JetStream deduplicates on: a digest of the scoped dedupe key and the
/// household's erasure count, so the server's duplicate table holds no device or event id.
fn message_id(event: &StoredEvent, erasures: u64) -> String {
    use sha2::Digest as _;
    let mut digest = sha2::Sha256::new();
    digest.update(erasures.to_be_bytes());
    digest.update(event.dedupe_key());
    hex::encode(&digest.finalize()[..20])
}

/// Erasure counts by household, as this host last heard them.
type Erasures = Arc<Mutex<HashMap<String, u64>>>;

/// Loads the erasure counts and follows them.
fn follow_erasures(bucket: &Arc<dyn Bucket>, runtime: &tokio::runtime::Handle) -> Result<Erasures, LogError> {
    let mut watch = bucket.watch(b"").map_err(log_error)?;
    let counts: HashMap<String, u64> = bucket
        .scan(b"")
        .map_err(log_error)?
        .into_iter()
        .map(|(household, entry)| (String::from_utf8_lossy(&household).into_owned(), decode_u64(Some(&entry.value))))
        .collect();
    let erasures = Arc::new(Mutex::new(counts));
    let followed = Arc::downgrade(&erasures);
    runtime.spawn(async move {
        while let Some(change) = watch.next().await {
            let Some(erasures) = followed.upgrade() else { return };
            let count = decode_u64(change.entry.as_ref().map(|entry| entry.value.as_slice()));
            let household = String::from_utf8_lossy(&change.key).into_owned();
            let mut erasures = lock(&erasures);
            let known = erasures.entry(household).or_default();
            *known = (*known).max(count);
        }
    });
    Ok(erasures)
}

impl NatsStorage {
    /// Opens (or creates) the events stream and its cursors bucket.
    pub fn event_log(&self, config: &LogConfig) -> Result<Arc<NatsLog>, LogError> {
        let cursors =
            hearth_host::storage::Storage::bucket(self, &format!("{}-cursors", config.stream)).map_err(log_error)?;
        let erasure_counts =
            hearth_host::storage::Storage::bucket(self, &format!("{}-erasures", config.stream)).map_err(log_error)?;
        let erasures = follow_erasures(&erasure_counts, &self.runtime)?;
        let stream_config = stream::Config {
            name: config.stream.clone(),
            subjects: vec![format!("{}.e.>", config.stream)],
            num_replicas: self.replicas,
            max_age: config.max_age,
            duplicate_window: config.duplicate_window,
            max_bytes: config.max_bytes.unwrap_or(-1),
            ..Default::default()
        };
        let jetstream = self.jetstream.clone();
        let stream = wait(&self.runtime, SETUP_TIMEOUT, async move {
            until_set_up("stream", || async {
                // An existing stream is joined as it is; only a missing one is created.
                let mut stream = match jetstream.get_stream(&stream_config.name).await {
                    Ok(stream) => stream,
                    Err(_) => jetstream.get_or_create_stream(stream_config.clone()).await.map_err(backend)?,
                };
                // Its leader is elected after it is created; until then this fails.
                stream.info().await.map_err(backend)?;
                Ok(stream)
            })
            .await
        })
        .map_err(log_error)?;
        let (last, _) = watch::channel(stream.cached_info().state.last_sequence);
        let watcher = self.runtime.spawn(watch_appends(self.client.clone(), stream.clone(), last.clone()));
        Ok(Arc::new(NatsLog {
            runtime: self.runtime.clone(),
            client: self.client.clone(),
            jetstream: self.jetstream.clone(),
            stream,
            name: config.stream.clone(),
            partitions: config.partitions.max(1),
            cursors,
            erasure_counts,
            erasures,
            last,
            readers: Mutex::default(),
            watcher,
        }))
    }
}

/// Moves the last sequence seen forward to `seq` (never back), waking watchers.
fn raise(last: &watch::Sender<Seq>, seq: Seq) {
    last.send_if_modified(|current| {
        let newer = seq > *current;
        *current = (*current).max(seq);
        newer
    });
}

/// Follows the stream's last sequence: every host's notices, and the stream's state
/// once a second (a notice is a core-NATS message and may be lost).
async fn watch_appends(client: async_nats::Client, mut stream: stream::Stream, last: watch::Sender<Seq>) {
    let subject = format!("{}.tick", stream.cached_info().config.name);
    let mut ticks = match client.subscribe(subject).await {
        Ok(ticks) => Some(ticks),
        Err(error) => {
            tracing::warn!(%error, "not subscribed to append notices; polling only");
            None
        }
    };
    let mut poll = tokio::time::interval(Duration::from_secs(1));
    loop {
        let seen = tokio::select! {
            Some(tick) = async { ticks.as_mut()?.next().await } => {
                std::str::from_utf8(&tick.payload).ok().and_then(|text| text.parse::<Seq>().ok())
            }
            _ = poll.tick() => stream.info().await.ok().map(|info| info.state.last_sequence),
        };
        if let Some(seq) = seen {
            raise(&last, seq);
        }
    }
}

impl NatsLog {
    fn subject(&self, event: &StoredEvent) -> String {
        let owner = if event.pseudonymous {
            format!("p{}", hex::encode(&event.household))
        } else {
            household_token(&event.household)
        };
        format!("{}.e.{}.{owner}", self.name, partition_of(event, self.partitions))
    }

    fn filter(&self, partition: Option<u32>) -> String {
        match partition {
            Some(partition) => format!("{}.e.{partition}.>", self.name),
            None => format!("{}.e.>", self.name),
        }
    }

    fn call<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, StorageError>> + Send + 'static,
    ) -> Result<T, LogError> {
        wait(&self.runtime, TRANSFER_TIMEOUT, work).map_err(log_error)
    }

    /// A kept reader positioned at or a little before `wanted`: the one furthest on.
    fn take_reader(&self, partition: Option<u32>, wanted: Seq) -> Option<KeptReader> {
        let mut readers = lock(&self.readers);
        let kept = readers.get_mut(&partition)?;
        let best = kept
            .iter()
            .enumerate()
            .filter(|(_, kept)| kept.next <= wanted && wanted - kept.next <= READER_SKIP)
            .max_by_key(|(_, kept)| kept.next)
            .map(|(index, _)| index)?;
        Some(kept.swap_remove(best))
    }

    fn keep_reader(&self, partition: Option<u32>, reader: KeptReader) {
        let mut readers = lock(&self.readers);
        let kept = readers.entry(partition).or_default();
        if kept.len() >= READERS {
            kept.remove(0);
        }
        kept.push(reader);
    }

    /// A read; a reader that just got no answer (its consumer has no leader yet, or
    /// lost its server) is dropped and the read tried again with a new one, briefly.
    fn read(&self, partition: Option<u32>, after: Seq, max: usize) -> Result<Vec<(Seq, Arc<StoredEvent>)>, LogError> {
        let started = std::time::Instant::now();
        loop {
            match self.read_once(partition, after, max) {
                Err(LogError::Storage(error))
                    if (error.contains("503")
                        || error.contains("no responders")
                        || error.contains("timed out")
                        || error.contains(READER_SKIPPED))
                        && started.elapsed() < Duration::from_secs(3) =>
                {
                    tracing::debug!(%error, "reading again with a new reader");
                    std::thread::sleep(Duration::from_millis(50));
                }
                result => return result,
            }
        }
    }

    fn read_once(
        &self,
        partition: Option<u32>,
        after: Seq,
        max: usize,
    ) -> Result<Vec<(Seq, Arc<StoredEvent>)>, LogError> {
        let kept = self.take_reader(partition, after + 1);
        let (stream, filter) = (self.stream.clone(), self.filter(partition));
        let erasures = self.erasures.clone();
        let (kept, events) = self.call(async move {
            let mut kept = match kept {
                Some(kept) => kept,
                None => {
                    let reader = stream
                        .create_consumer(pull::Config {
                            deliver_policy: consumer::DeliverPolicy::ByStartSequence { start_sequence: after + 1 },
                            ack_policy: consumer::AckPolicy::None,
                            filter_subject: filter,
                            memory_storage: true,
                            num_replicas: 1,
                            inactive_threshold: Duration::from_secs(30),
                            ..Default::default()
                        })
                        .await
                        .map_err(backend)?;
                    KeptReader { next: after + 1, delivered: 0, reader }
                }
            };
            let mut events = Vec::new();
            // A reader kept from before `after` first passes over what was handled.
            loop {
                let mut fetched = kept.reader.fetch().max_messages(max).messages().await.map_err(backend)?;
                let mut count = 0;
                while let Some(message) = fetched.next().await {
                    let message = message.map_err(backend)?;
                    count += 1;
                    let info = message.info().map_err(backend)?;
                    if info.consumer_sequence != kept.delivered + 1 {
                        return Err(StorageError::Backend(READER_SKIPPED.into()));
                    }
                    let seq = info.stream_sequence;
                    (kept.next, kept.delivered) = (seq + 1, info.consumer_sequence);
                    if seq <= after {
                        continue;
                    }
                    let event: StoredEvent = serde_json::from_slice(&message.payload)
                        .map_err(|error| StorageError::Corrupt(format!("event {seq}: {error}")))?;
                    let erased_since = lock(&erasures).get(&event.household).copied().unwrap_or(0);
                    if erased_since > erased_when_stored(&message) {
                        continue;
                    }
                    events.push((seq, Arc::new(event)));
                }
                if !events.is_empty() || count < max {
                    return Ok((kept, events));
                }
            }
        })?;
        self.keep_reader(partition, kept);
        Ok(events)
    }

    fn cursors(&self) -> Result<Vec<(String, Seq)>, LogError> {
        let entries = self.cursors.scan(b"").map_err(log_error)?;
        Ok(entries
            .into_iter()
            .map(|(name, entry)| (String::from_utf8_lossy(&name).into_owned(), decode_u64(Some(&entry.value))))
            .collect())
    }

    fn slowest(&self, prefix: &str) -> Result<Option<Seq>, LogError> {
        Ok(self.cursors()?.into_iter().filter(|(name, _)| name.starts_with(prefix)).map(|(_, seq)| seq).min())
    }

    /// The last sequence the stream holds, asked of the stream.
    fn stream_last(&self) -> Result<Seq, LogError> {
        let mut stream = self.stream.clone();
        let last = self.call(async move { Ok(stream.info().await.map_err(backend)?.state.last_sequence) })?;
        raise(&self.last, last);
        Ok(last)
    }
}

/// The JetStream error of a publish whose id another publish still has in flight.
const ID_IN_FLIGHT: &str = "10158";

/// The header holding the erasure count of the event's household when it was stored.
const ERASURE_HEADER: &str = "Hearth-Erasure";

/// One event as it is published.
struct Message {
    subject: String,
    /// The `Nats-Msg-Id` JetStream deduplicates on.
    id: String,
    /// The household's erasure count as this host knows it.
    erased: u64,
    payload: Vec<u8>,
}

impl Message {
    fn build(&self) -> PublishMessage {
        PublishMessage::build()
            .message_id(&self.id)
            .header(ERASURE_HEADER, self.erased.to_string().as_str())
            .payload(self.payload.clone().into())
    }
}

/// The erasure count a stored message was published under (0 when it has none).
fn erased_when_stored(message: &async_nats::jetstream::Message) -> u64 {
    let header = message.headers.as_ref().and_then(|headers| headers.get(ERASURE_HEADER));
    header.and_then(|value| value.as_str().parse().ok()).unwrap_or(0)
}

/// Publishes one event; its answer is awaited later so that a batch is pipelined.
async fn publish(
    jetstream: &async_nats::jetstream::Context,
    message: Message,
) -> Result<impl Future<Output = Result<Appended, LogError>>, LogError> {
    let pending = jetstream.send_publish(message.subject.clone(), message.build()).await.map_err(log_error)?;
    let jetstream = jetstream.clone();
    Ok(async move {
        let mut answer = pending.await;
        // Another host is storing the same id right now: ask again until its copy is
        // stored, then the answer names that copy.
        for _ in 0..50 {
            match &answer {
                Err(error) if error.to_string().contains(ID_IN_FLIGHT) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    answer = match jetstream.send_publish(message.subject.clone(), message.build()).await {
                        Ok(pending) => pending.await,
                        Err(error) => return Err(log_error(error)),
                    };
                }
                _ => break,
            }
        }
        let ack = answer.map_err(log_error)?;
        Ok(Appended { seq: ack.sequence, duplicate: ack.duplicate })
    })
}

/// A household as a subject token: hex, so any id is one token.
fn household_token(household: &str) -> String {
    format!("h{}", hex::encode(household))
}

impl EventLog for NatsLog {
    fn append(
        &self,
        events: Vec<StoredEvent>,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Appended>, LogError>> + Send + '_>> {
        let messages: Result<Vec<Message>, LogError> = {
            let erasures = lock(&self.erasures);
            events
                .iter()
                .map(|event| {
                    let erased = erasures.get(&event.household).copied().unwrap_or(0);
                    let payload = serde_json::to_vec(event).map_err(log_error)?;
                    Ok(Message { subject: self.subject(event), id: message_id(event, erased), erased, payload })
                })
                .collect()
        };
        let client = self.client.clone();
        let jetstream = self.jetstream.clone();
        let tick = format!("{}.tick", self.name);
        Box::pin(async move {
            let messages = messages?;
            if messages.is_empty() {
                return Ok(Vec::new());
            }
            let appended = self
                .runtime
                .spawn(async move {
                    // Published in order on one connection: JetStream stores them in that
                    // order. A repeat inside the batch is answered by its first copy (the
                    // server refuses an id while its first publish is still in flight).
                    let mut firsts: HashMap<String, usize> = HashMap::new();
                    let mut acks = Vec::with_capacity(messages.len());
                    for (index, message) in messages.into_iter().enumerate() {
                        if let Some(&first) = firsts.get(&message.id) {
                            acks.push(Err(first));
                            continue;
                        }
                        firsts.insert(message.id.clone(), index);
                        acks.push(Ok(publish(&jetstream, message).await?));
                    }
                    let mut appended: Vec<Appended> = Vec::with_capacity(acks.len());
                    for ack in acks {
                        appended.push(match ack {
                            Ok(ack) => ack.await?,
                            Err(first) => Appended { seq: appended[first].seq, duplicate: true },
                        });
                    }
                    if let Some(last) = appended.iter().map(|appended| appended.seq).max() {
                        // Other hosts' consumers wake on this; they poll in case it is lost.
                        let _ = client.publish(tick, last.to_string().into()).await;
                    }
                    Ok::<_, LogError>(appended)
                })
                .await
                .map_err(|_| LogError::Closed)??;
            if let Some(last) = appended.iter().map(|appended| appended.seq).max() {
                raise(&self.last, last);
            }
            Ok(appended)
        })
    }

    fn read_after(&self, after: Seq, max: usize) -> Result<Vec<(Seq, Arc<StoredEvent>)>, LogError> {
        self.read(None, after, max)
    }

    fn partitions(&self) -> u32 {
        self.partitions
    }

    fn read_partition(&self, partition: u32, after: Seq, max: usize) -> Result<Vec<(Seq, Arc<StoredEvent>)>, LogError> {
        self.read(Some(partition), after, max)
    }

    fn quiet_through(&self, partition: u32, after: Seq, end: Seq) -> Result<Quiet, LogError> {
        if end <= after {
            return Ok(Quiet::Through(after));
        }
        let (stream, filter) = (self.stream.clone(), self.filter(Some(partition)));
        // Asked of the stream's leader, which holds every acknowledged event (a reader
        // may run on a replica that is behind).
        let next = self.call(async move {
            match stream.raw_message_builder().sequence(after + 1).next_by_subject(filter).send().await {
                Ok(message) => Ok(Some(message.sequence)),
                Err(error) if error.kind() == async_nats::jetstream::stream::RawMessageErrorKind::NoMessageFound => {
                    Ok(None)
                }
                Err(error) => Err(backend(error)),
            }
        })?;
        Ok(match next {
            None => Quiet::Through(end),
            Some(next) if next > end => Quiet::Through(end),
            Some(_) => {
                // The read that found nothing used a reader behind the leader (on a
                // replica catching up, or placed before a node died): the next read
                // starts a new one.
                lock(&self.readers).remove(&Some(partition));
                Quiet::Missed
            }
        })
    }

    fn last_seq(&self) -> Seq {
        *self.last.borrow()
    }

    fn watch(&self) -> watch::Receiver<Seq> {
        self.last.subscribe()
    }

    fn open_consumer(&self, consumer: &str) -> Result<Seq, LogError> {
        if let Some(cursor) = self.cursors.value(consumer.as_bytes()).map_err(log_error)? {
            return Ok(decode_u64(Some(&cursor)));
        }
        // A new consumer starts at the end as the stream has it, not as this host last heard.
        let start = self.stream_last()?;
        match self.cursors.create(consumer.as_bytes(), &start.to_be_bytes()) {
            Ok(_) => Ok(start),
            // Another host opened it meanwhile: its cursor holds.
            Err(StorageError::Conflict) => {
                Ok(decode_u64(self.cursors.value(consumer.as_bytes()).map_err(log_error)?.as_deref()))
            }
            Err(error) => Err(log_error(error)),
        }
    }

    fn cursor(&self, consumer: &str) -> Result<Option<Seq>, LogError> {
        let stored = self.cursors.value(consumer.as_bytes()).map_err(log_error)?;
        Ok(stored.map(|cursor| decode_u64(Some(&cursor))))
    }

    fn ack(&self, consumer: &str, seq: Seq) -> Result<Seq, LogError> {
        let stored = self
            .cursors
            // A removed consumer stays removed: an ack never creates a cursor.
            .modify(consumer.as_bytes(), &mut |old| Some(decode_u64(Some(old?)).max(seq).to_be_bytes().to_vec()))
            .map_err(log_error)?;
        Ok(stored.map_or(seq, |stored| decode_u64(Some(&stored))))
    }

    fn bound_backlogs(&self, max_backlog: u64) -> Result<Vec<(String, u64)>, LogError> {
        let floor = self.last_seq().saturating_sub(max_backlog);
        let mut moved = Vec::new();
        for (name, _) in self.cursors()? {
            let mut passed = 0;
            self.cursors
                .modify(name.as_bytes(), &mut |old| {
                    let old = decode_u64(old?.into());
                    passed = floor.saturating_sub(old);
                    Some(old.max(floor).to_be_bytes().to_vec())
                })
                .map_err(log_error)?;
            if passed > 0 {
                moved.push((name, passed));
            }
        }
        Ok(moved)
    }

    fn lag(&self) -> Result<u64, LogError> {
        let last = self.last_seq();
        Ok(last.saturating_sub(self.slowest("")?.unwrap_or(last)))
    }

    fn lag_of(&self, prefix: &str) -> Result<u64, LogError> {
        let last = self.last_seq();
        Ok(last.saturating_sub(self.slowest(prefix)?.unwrap_or(last)))
    }

    fn compact(&self, retention: Duration) -> Result<u64, LogError> {
        let Some(slowest) = self.slowest("")? else {
            return Ok(0);
        };
        let stream = self.stream.clone();
        let cutoff = time::OffsetDateTime::now_utc() - retention;
        self.call(async move {
            // The first event younger than the retention window bounds what may go.
            let newest = stream
                .create_consumer(pull::Config {
                    deliver_policy: consumer::DeliverPolicy::ByStartTime { start_time: cutoff },
                    ack_policy: consumer::AckPolicy::None,
                    memory_storage: true,
                    num_replicas: 1,
                    inactive_threshold: Duration::from_secs(5),
                    ..Default::default()
                })
                .await
                .map_err(backend)?;
            let mut first = newest.fetch().max_messages(1).messages().await.map_err(backend)?;
            let young = match first.next().await {
                Some(message) => message.map_err(backend)?.info().map_err(backend)?.stream_sequence,
                None => Seq::MAX,
            };
            let below = young.min(slowest + 1);
            let purged = stream.purge().sequence(below).await.map_err(backend)?;
            Ok(purged.purged)
        })
    }

    fn remove_consumers(&self, prefix: &str) -> Result<usize, LogError> {
        self.cursors.delete_prefix(prefix.as_bytes()).map_err(log_error)
    }

    fn erase_household(&self, household: &str) -> Result<u64, LogError> {
        let stream = self.stream.clone();
        let filter = format!("{}.e.*.{}", self.name, household_token(household));
        lock(&self.readers).clear();
        let count = self
            .erasure_counts
            .modify(household.as_bytes(), &mut |count| Some((decode_u64(count) + 1).to_be_bytes().to_vec()))
            .map_err(log_error)?;
        let count = decode_u64(count.as_deref());
        let mut erasures = lock(&self.erasures);
        let known = erasures.entry(household.to_owned()).or_default();
        *known = (*known).max(count);
        drop(erasures);
        self.call(async move { Ok(stream.purge().filter(filter).await.map_err(backend)?.purged) })
    }
}
