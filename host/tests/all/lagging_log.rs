//! A partitioned log whose reads are served by a replica that is behind (as a JetStream
//! reader on a follower is, while a node dies and leaders move): a read may come back
//! empty although the log holds events of the partition, asking the leader may fail,
//! and no append may follow to wake the consumer. Every event is still delivered, each device's in order.

use crate::support::*;
use hearth_host::Backend;
use hearth_host::events::log::{Appended, EventLog, LogError, Quiet, Seq, SledLog, StoredEvent, partition_of};
use hearth_host::storage::sled::SledStorage;
use hearth_host::{Host, HostConfig};
use serde_json::json;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

const PARTITIONS: u32 = 4;

/// SledLog in four partitions; the first read of a partition from a position that has
/// events after it answers nothing (its replica had not caught up yet), and the first
/// check after such a miss fails (the partition's leader is being elected).
struct LaggingLog {
    inner: Arc<SledLog>,
    /// The (partition, position) reads that already missed once.
    missed_reads: Mutex<HashSet<(u32, Seq)>>,
    missed: std::sync::atomic::AtomicU64,
    /// The (partition, position) checks that already failed once.
    failed_checks: Mutex<HashSet<(u32, Seq)>>,
}

impl LaggingLog {
    fn of_partition(&self, partition: u32, after: Seq, through: Seq) -> Result<Vec<(Seq, Arc<StoredEvent>)>, LogError> {
        let mut found = Vec::new();
        let mut from = after;
        while from < through {
            let read = self.inner.read_after(from, 1000)?;
            let Some(&(last, _)) = read.last() else { break };
            from = last;
            found.extend(
                read.into_iter().filter(|(seq, event)| *seq <= through && partition_of(event, PARTITIONS) == partition),
            );
        }
        Ok(found)
    }
}

impl EventLog for LaggingLog {
    fn append(
        &self,
        events: Vec<StoredEvent>,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Appended>, LogError>> + Send + '_>> {
        self.inner.append(events)
    }
    fn read_after(&self, after: Seq, max: usize) -> Result<Vec<(Seq, Arc<StoredEvent>)>, LogError> {
        self.inner.read_after(after, max)
    }
    fn partitions(&self) -> u32 {
        PARTITIONS
    }
    fn read_partition(&self, partition: u32, after: Seq, max: usize) -> Result<Vec<(Seq, Arc<StoredEvent>)>, LogError> {
        let mut events = self.of_partition(partition, after, self.inner.last_seq())?;
        if !events.is_empty() && self.missed_reads.lock().unwrap().insert((partition, after)) {
            self.missed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Ok(Vec::new());
        }
        events.truncate(max);
        Ok(events)
    }
    fn quiet_through(&self, partition: u32, after: Seq, end: Seq) -> Result<Quiet, LogError> {
        let after_a_miss = self.missed_reads.lock().unwrap().contains(&(partition, after));
        if after_a_miss && self.failed_checks.lock().unwrap().insert((partition, after)) {
            return Err(LogError::Storage("no leader yet".into()));
        }
        if self.of_partition(partition, after, end)?.is_empty() {
            Ok(Quiet::Through(end.max(after)))
        } else {
            Ok(Quiet::Missed)
        }
    }
    fn last_seq(&self) -> Seq {
        self.inner.last_seq()
    }
    fn watch(&self) -> watch::Receiver<Seq> {
        self.inner.watch()
    }
    fn open_consumer(&self, consumer: &str) -> Result<Seq, LogError> {
        self.inner.open_consumer(consumer)
    }
    fn cursor(&self, consumer: &str) -> Result<Option<Seq>, LogError> {
        self.inner.cursor(consumer)
    }
    fn ack(&self, consumer: &str, seq: Seq) -> Result<Seq, LogError> {
        self.inner.ack(consumer, seq)
    }
    fn bound_backlogs(&self, max_backlog: u64) -> Result<Vec<(String, u64)>, LogError> {
        self.inner.bound_backlogs(max_backlog)
    }
    fn lag(&self) -> Result<u64, LogError> {
        self.inner.lag()
    }
    fn lag_of(&self, prefix: &str) -> Result<u64, LogError> {
        self.inner.lag_of(prefix)
    }
    fn compact(&self, retention: Duration) -> Result<u64, LogError> {
        self.inner.compact(retention)
    }
    fn remove_consumers(&self, prefix: &str) -> Result<usize, LogError> {
        self.inner.remove_consumers(prefix)
    }
    fn erase_household(&self, household: &str) -> Result<u64, LogError> {
        self.inner.erase_household(household)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_that_misses_events_is_read_again_without_waiting_for_an_append() {
    let dir = tempfile::tempdir().unwrap();
    let sled = SledStorage::open(&dir.path().join("db")).unwrap();
    let inner = SledLog::open(sled.database(), true).unwrap();
    let log = Arc::new(LaggingLog {
        inner,
        missed_reads: Mutex::default(),
        missed: Default::default(),
        failed_checks: Mutex::default(),
    });
    let backend = Backend { storage: Arc::new(sled), log: log.clone(), cluster: None };
    let host = Host::open_on(backend, HostConfig::default()).await.unwrap();
    let devices: Vec<String> = (0..6).map(|n| format!("fridge-{n}")).collect();
    let kinds: Vec<(&str, &str)> = devices.iter().map(|device| (device.as_str(), "fridge")).collect();
    add_household(&host, "h1", &kinds);
    let plugin = install_recorder(&host, None, Some(2)).await;
    host.grant("h1", &plugin, &grant_kinds(&["fridge"])).await.unwrap();

    // Each device sends its events; then nothing more is appended.
    let per_device = 40;
    for device in &devices {
        let events: Vec<_> = (0..per_device)
            .map(|n| json!({"id": format!("e-{n}"), "topic": "ext.test.tally", "body": {"n": n}}))
            .collect();
        host.ingest(device, &bytes(&json!(events))).await.unwrap();
    }
    wait_until("every event is delivered", || async {
        host.status(&plugin).unwrap().delivered == (devices.len() * per_device) as u64
    })
    .await;
    assert!(
        log.missed.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "no read missed anything: the test tests nothing"
    );
    let tally = recorder(&host, &plugin, "tally").await;
    let counts: Vec<&serde_json::Value> = tally.as_object().unwrap().values().collect();
    assert_eq!(counts.len(), devices.len(), "{tally}");
    for count in counts {
        assert_eq!((count["next"].as_u64(), count["early"].as_u64()), (Some(per_device as u64), Some(0)), "{tally}");
    }
    host.shutdown().await.unwrap();
}
