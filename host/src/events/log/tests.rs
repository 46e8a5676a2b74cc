//! The sled event log: order, dedupe, cursors, crash repair, erasure, compaction.

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

/// Opens the database again after its last handle was dropped. sled's background
/// threads may hold the file lock a moment longer (seen on a loaded machine); a
/// restarted process would not meet that, so the test waits for it.
fn reopen(dir: &std::path::Path) -> ::sled::Db {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match ::sled::open(dir) {
            Ok(db) => return db,
            Err(error) if error.to_string().contains("lock") && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(error) => panic!("reopening {}: {error}", dir.display()),
        }
    }
}

fn ids(events: &[(Seq, Arc<StoredEvent>)]) -> Vec<(Seq, &str)> {
    events.iter().map(|(seq, e)| (*seq, e.id.as_str())).collect()
}

#[tokio::test]
async fn appends_read_back_in_order_across_batches_and_dedupe_ids() {
    let dir = tempfile::tempdir().unwrap();
    let db = ::sled::open(dir.path()).unwrap();
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
    let db = ::sled::open(dir.path()).unwrap();
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
            ids(&log.read_after(after, 5).unwrap()).iter().map(|(seq, id)| (*seq, id.to_string())).collect::<Vec<_>>()
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
    let db = ::sled::open(dir.path()).unwrap();
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
        let db = ::sled::open(dir.path()).unwrap();
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
    let db = reopen(dir.path());
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
    let db = ::sled::open(dir.path()).unwrap();
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
    let db = ::sled::open(dir.path()).unwrap();
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

/// What a crash or an older version can leave is found on open: digests of a batch
/// that never landed go (a resend is stored and read), a batch without digests gets
/// them, and the per-event dedupe tree of earlier versions is replaced.
#[tokio::test]
async fn opening_repairs_digests_whose_batch_never_landed_and_batches_without_digests() {
    let dir = tempfile::tempdir().unwrap();
    let db = ::sled::open(dir.path()).unwrap();
    {
        let log = SledLog::open(&db, true).unwrap();
        log.append(vec![event("kept")]).await.unwrap();
        log.close().await;
    }
    // The crash: digests for seqs 3..=5 written, their batch not.
    let keys = db.open_tree(KEYS_TREE).unwrap();
    let lost: Vec<_> = ["lost-1", "lost-2", "lost-3"].iter().map(|id| digest(&event(id))).collect();
    keys.insert(seq_key(3), crate::events::log::dedupe::encode(&lost)).unwrap();
    // A batch whose digests are missing, and an older version's dedupe tree.
    let batches = db.open_tree("log").unwrap();
    let record = BatchRecord { appended_ms: 1, events: vec![event("stray")] };
    batches.insert(seq_key(2), serde_json::to_vec(&record).unwrap()).unwrap();
    db.open_tree("event-dedupe").unwrap().insert(event("lost-2").dedupe_key(), &seq_key(9)).unwrap();

    let log = SledLog::open(&db, true).unwrap();
    assert_eq!(log.last_seq(), 2);
    assert!(!db.tree_names().iter().any(|name| name.as_ref() == b"event-dedupe"));
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
        let db = ::sled::open(dir.path()).unwrap();
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
    let db = reopen(dir.path());
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
    let db = ::sled::open(dir.path()).unwrap();
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

/// The dedupe index after a reopen is what it was before: erased ids stay new ids,
/// other households' ids stay taken (two households, random interleaving, fixed seed).
#[tokio::test]
async fn erased_ids_stay_free_and_others_stay_taken_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let of = |household: &str, id: &str| StoredEvent {
        household: household.into(),
        device: Some(format!("{household}-fridge")),
        ..event(id)
    };
    let mut seed = 0xd1ce_u64;
    let mut sent: Vec<(&str, String)> = Vec::new();
    {
        let db = ::sled::open(dir.path()).unwrap();
        let log = SledLog::open(&db, true).unwrap();
        for batch in 0..30 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let events: Vec<_> = (0..(seed >> 40) % 20 + 1)
                .map(|n| {
                    let household = if (seed >> (n % 32)) & 1 == 0 { "erased" } else { "kept" };
                    sent.push((household, format!("b{batch}-{n}")));
                    of(household, &format!("b{batch}-{n}"))
                })
                .collect();
            log.append(events).await.unwrap();
        }
        let erased = log.erase_household("erased").unwrap();
        assert_eq!(erased, sent.iter().filter(|(household, _)| *household == "erased").count() as u64);
        log.close().await;
    }
    let db = reopen(dir.path());
    let log = SledLog::open(&db, true).unwrap();
    let again: Vec<_> = sent.iter().map(|(household, id)| of(household, id)).collect();
    let answers = log.append(again).await.unwrap();
    for ((household, id), answer) in sent.iter().zip(&answers) {
        assert_eq!(answer.duplicate, *household == "kept", "{household} {id}");
    }
}

/// Appends committed together share stored batches (at most 1,000 events each), and
/// dedupe holds across them: 300 concurrent appends of 1–20 events (fixed seed), a
/// third resending ids of others. Every id is stored once, each resend answers the
/// stored copy's position, and a reopened log reads the same.
#[tokio::test]
async fn a_group_of_appends_is_stored_in_shared_batches_with_dedupe_across_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = ::sled::open(dir.path()).unwrap();
    let log = SledLog::open(&db, true).unwrap();
    let mut seed = 0xba7c_u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        seed >> 33
    };
    let appends: Vec<Vec<String>> = (0..300)
        .map(|n| {
            (0..next() % 20 + 1)
                .map(|m| if next() % 3 == 0 { format!("e{}-0", next() % 300) } else { format!("e{n}-{m}") })
                .collect()
        })
        .collect();
    let tasks: Vec<_> = appends
        .iter()
        .map(|ids| {
            let (log, events) = (log.clone(), ids.iter().map(|id| event(id)).collect());
            tokio::spawn(async move { log.append(events).await.unwrap() })
        })
        .collect();
    let mut answers: Vec<(String, Appended)> = Vec::new();
    for (ids, task) in appends.iter().zip(tasks) {
        answers.extend(ids.iter().cloned().zip(task.await.unwrap()));
    }
    let stored: std::collections::HashMap<String, Seq> =
        log.read_after(0, 100_000).unwrap().iter().map(|(seq, event)| (event.id.clone(), *seq)).collect();
    assert_eq!(stored.len() as u64, log.last_seq(), "an id was stored twice");
    for (id, answer) in &answers {
        assert_eq!(Some(&answer.seq), stored.get(id), "{id} answered another position");
    }
    assert_eq!(answers.iter().filter(|(_, answer)| !answer.duplicate).count(), stored.len());
    let batches = db.open_tree("log").unwrap();
    let sizes: Vec<usize> = batches.iter().map(|entry| decode_batch(&entry.unwrap().1).unwrap().events.len()).collect();
    assert!(sizes.len() < appends.len() / 2, "{} batches for {} appends", sizes.len(), appends.len());
    assert!(sizes.iter().all(|size| *size <= MERGED_BATCH_MAX), "{sizes:?}");
    log.close().await;
    drop(log);
    let log = SledLog::open(&db, true).unwrap();
    let again = log.append(stored.keys().map(|id| event(id)).collect()).await.unwrap();
    assert!(again.iter().all(|answer| answer.duplicate));
}
