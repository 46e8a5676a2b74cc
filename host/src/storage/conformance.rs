//! The conformance suite of the bucket primitive (the stream's is
//! `events::log::conformance`): what every backend must do, run
//! against a fresh [`Storage`]. It returns the first violation instead of panicking,
//! so any backend's tests (and a cluster's start-up check) can run it.

use super::{Bucket, BucketExt, Entry, Storage, StorageError};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Keys with their value and revision.
type Contents = Vec<(Vec<u8>, (Vec<u8>, u64))>;

/// What a backend did wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage conformance: {0}")]
pub struct Violation(pub String);

fn expect(holds: bool, what: impl FnOnce() -> String) -> Result<(), Violation> {
    if holds { Ok(()) } else { Err(Violation(what())) }
}

fn backend(error: StorageError) -> Violation {
    Violation(format!("unexpected error: {error}"))
}

/// Runs every check against `storage`, which must be empty. `seed` fixes the
/// randomized part.
pub async fn check(storage: &dyn Storage, seed: u64) -> Result<(), Violation> {
    revisions_and_conditions(&*storage.bucket("conformance-basics").map_err(backend)?)?;
    prefixes_and_buckets(storage)?;
    ids_increase(storage)?;
    watch_reports_changes(&*storage.bucket("conformance-watch").map_err(backend)?).await?;
    watch_of_a_scope_reports_that_scope_alone(&*storage.bucket("conformance-scoped-watch").map_err(backend)?).await?;
    matches_a_model(&*storage.bucket("conformance-model").map_err(backend)?, seed)?;
    concurrent_updates_are_not_lost(storage.bucket("conformance-counter").map_err(backend)?).await?;
    large_values(&*storage.bucket("conformance-large").map_err(backend)?, seed).await?;
    storage.flush().await.map_err(backend)
}

fn revisions_and_conditions(bucket: &dyn Bucket) -> Result<(), Violation> {
    expect(bucket.get(b"k").map_err(backend)?.is_none(), || "an absent key reads as present".into())?;
    let first = bucket.put(b"k", b"one").map_err(backend)?;
    let entry = bucket.get(b"k").map_err(backend)?;
    expect(entry.as_ref().map(|entry| (&entry.value[..], entry.revision)) == Some((b"one", first)), || {
        format!("put then get: {entry:?}, wrote revision {first}")
    })?;
    let second = bucket.put(b"k", b"two").map_err(backend)?;
    expect(second > first, || format!("revision {second} after {first}"))?;
    expect(bucket.create(b"k", b"three") == Err(StorageError::Conflict), || "create over a present key".into())?;
    expect(bucket.update(b"k", b"three", first) == Err(StorageError::Conflict), || {
        "update at a stale revision".into()
    })?;
    expect(bucket.value(b"k").map_err(backend)?.as_deref() == Some(b"two"), || {
        "a refused write changed the value".into()
    })?;
    let third = bucket.update(b"k", b"three", second).map_err(backend)?;
    expect(third > second, || "update's revision does not grow".into())?;
    expect(bucket.delete_if(b"k", second) == Err(StorageError::Conflict), || "delete_if at a stale revision".into())?;
    expect(bucket.get(b"k").map_err(backend)?.is_some(), || "a refused delete_if deleted".into())?;
    bucket.delete_if(b"k", third).map_err(backend)?;
    bucket.delete(b"k").map_err(backend)?;
    expect(bucket.get(b"k").map_err(backend)?.is_none(), || "a deleted key reads as present".into())?;
    expect(bucket.update(b"k", b"four", third) == Err(StorageError::Conflict), || "update of a deleted key".into())?;
    let created = bucket.create(b"k", b"").map_err(backend)?;
    expect(created > third, || "revisions restart after a delete".into())?;
    expect(bucket.value(b"k").map_err(backend)?.as_deref() == Some(b""), || "an empty value is not kept".into())?;
    update_from_holds_the_same_condition(bucket)
}

/// `update_from` refuses exactly what `update` refuses: an entry read before another
/// write — even one that wrote the same bytes — or before a delete.
fn update_from_holds_the_same_condition(bucket: &dyn Bucket) -> Result<(), Violation> {
    bucket.put(b"u", b"same").map_err(backend)?;
    let read = bucket.get(b"u").map_err(backend)?.ok_or_else(|| Violation("a put key is absent".into()))?;
    bucket.put(b"u", b"same").map_err(backend)?;
    expect(bucket.update_from(b"u", &read, b"lost") == Err(StorageError::Conflict), || {
        "update_from over a rewrite of the same value".into()
    })?;
    let current = bucket.get(b"u").map_err(backend)?.ok_or_else(|| Violation("the key vanished".into()))?;
    let next = bucket.update_from(b"u", &current, b"next").map_err(backend)?;
    expect(next > current.revision, || "update_from's revision does not grow".into())?;
    expect(bucket.value(b"u").map_err(backend)?.as_deref() == Some(b"next"), || "update_from lost its value".into())?;
    bucket.delete(b"u").map_err(backend)?;
    let after_delete = Entry { value: b"next".to_vec(), revision: next };
    expect(bucket.update_from(b"u", &after_delete, b"again") == Err(StorageError::Conflict), || {
        "update_from of a deleted key".into()
    })
}

/// Values as large as a component (several MiB) behave like small ones, watch included.
async fn large_values(bucket: &dyn Bucket, seed: u64) -> Result<(), Violation> {
    let mut random = seed | 1;
    let mut large = |len: usize| -> Vec<u8> {
        (0..len)
            .map(|_| {
                random ^= random << 13;
                random ^= random >> 7;
                random ^= random << 17;
                random as u8
            })
            .collect()
    };
    let (first, second) = (large(3 << 20), large((1 << 20) + 7));
    let mut watch = bucket.watch(b"big").map_err(backend)?;
    let revision = bucket.put(b"big", &first).map_err(backend)?;
    expect(bucket.value(b"big").map_err(backend)?.as_deref() == Some(&first[..]), || "a large value changed".into())?;
    expect(bucket.create(b"big", &second) == Err(StorageError::Conflict), || "create over a large value".into())?;
    expect(bucket.update(b"big", &second, revision + 1000) == Err(StorageError::Conflict), || {
        "update of a large value at a wrong revision".into()
    })?;
    expect(bucket.value(b"big").map_err(backend)?.as_deref() == Some(&first[..]), || {
        "a refused write changed a large value".into()
    })?;
    bucket.update(b"big", &second, revision).map_err(backend)?;
    expect(bucket.value(b"big").map_err(backend)?.as_deref() == Some(&second[..]), || {
        "a large update was lost".into()
    })?;
    let seen = tokio::time::timeout(Duration::from_secs(10), watch.next()).await.ok().flatten();
    expect(seen.is_some_and(|change| change.entry.is_some_and(|entry| entry.value.len() >= second.len())), || {
        "watch did not report a large value whole".into()
    })?;
    bucket.delete(b"big").map_err(backend)?;
    expect(bucket.get(b"big").map_err(backend)?.is_none(), || "a deleted large value reads as present".into())?;
    let again = large(600 << 10);
    bucket.create(b"big", &again).map_err(backend)?;
    expect(bucket.value(b"big").map_err(backend)?.as_deref() == Some(&again[..]), || {
        "a large value written after a delete".into()
    })
}

fn prefixes_and_buckets(storage: &dyn Storage) -> Result<(), Violation> {
    let a = storage.bucket("conformance-a").map_err(backend)?;
    let b = storage.bucket("conformance-b").map_err(backend)?;
    for key in ["p\0x", "p\0a", "p\0a/1", "p", "pq\0a", "q\0a"] {
        a.put(key.as_bytes(), key.as_bytes()).map_err(backend)?;
    }
    let keys = a.keys(b"p\0").map_err(backend)?;
    expect(keys == [&b"p\0a"[..], b"p\0a/1", b"p\0x"], || format!("keys by prefix, in order: {keys:?}"))?;
    let scanned = a.scan(b"p\0a").map_err(backend)?;
    let values: Vec<&[u8]> = scanned.iter().map(|(_, entry)| entry.value.as_slice()).collect();
    expect(values == [&b"p\0a"[..], b"p\0a/1"], || format!("scan by prefix: {values:?}"))?;
    expect(b.keys(b"").map_err(backend)?.is_empty(), || "buckets share keys".into())?;
    let again = storage.bucket("conformance-a").map_err(backend)?;
    expect(again.keys(b"").map_err(backend)?.len() == 6, || "reopening a bucket lost its keys".into())?;
    expect(a.delete_prefix(b"p\0").map_err(backend)? == 3, || "delete_prefix count".into())?;
    expect(a.keys(b"").map_err(backend)?.len() == 3, || "delete_prefix reached past its prefix".into())
}

fn ids_increase(storage: &dyn Storage) -> Result<(), Violation> {
    let mut last = storage.next_id().map_err(backend)?;
    for _ in 0..1000 {
        let next = storage.next_id().map_err(backend)?;
        expect(next > last, || format!("id {next} after {last}"))?;
        last = next;
    }
    Ok(())
}

async fn watch_reports_changes(bucket: &dyn Bucket) -> Result<(), Violation> {
    bucket.put(b"before", b"x").map_err(backend)?;
    let mut watch = bucket.watch(b"w/").map_err(backend)?;
    bucket.put(b"other", b"x").map_err(backend)?;
    let revision = bucket.put(b"w/1", b"a").map_err(backend)?;
    bucket.delete(b"w/1").map_err(backend)?;
    let mut next = async || tokio::time::timeout(Duration::from_secs(5), watch.next()).await.ok().flatten();
    // The put may be skipped when the delete superseded it before the watch read it
    // (see `Bucket::watch`); if it is reported, it is whole and comes first.
    let first = next().await;
    let put_reported = first.as_ref().is_some_and(|change| change.entry.is_some());
    if put_reported {
        expect(
            first.as_ref().is_some_and(|change| {
                change.key == b"w/1"
                    && change.entry.as_ref().map(|entry| (&entry.value[..], entry.revision)) == Some((b"a", revision))
            }),
            || format!("watch: first change {first:?}"),
        )?;
    }
    let deleted = if put_reported { next().await } else { first };
    expect(deleted.as_ref().is_some_and(|change| change.key == b"w/1" && change.entry.is_none()), || {
        format!("watch: the last change {deleted:?} is not the delete")
    })?;
    // And nothing else: no other key, no change after the final state.
    let extra = tokio::time::timeout(Duration::from_millis(300), watch.next()).await.ok().flatten();
    expect(extra.is_none(), || format!("watch: a change after the last one: {extra:?}"))
}

/// A watch of `scope \0` (one household's, one plugin's keys) sees that scope's keys,
/// not those of a scope it is a prefix of, nor unscoped keys.
async fn watch_of_a_scope_reports_that_scope_alone(bucket: &dyn Bucket) -> Result<(), Violation> {
    let mut watch = bucket.watch(b"s\0").map_err(backend)?;
    for key in [&b"sx\0a"[..], b"s", b"t\0a", b"s\0a", b"s\0"] {
        bucket.put(key, b"v").map_err(backend)?;
    }
    let mut seen = Vec::new();
    while let Ok(Some(change)) = tokio::time::timeout(Duration::from_millis(500), watch.next()).await {
        seen.push(change.key);
    }
    expect(seen == [&b"s\0a"[..], b"s\0"], || format!("a watch of one scope saw {seen:?}"))
}

/// Random puts, creates, updates (at the current and at stale revisions) and deletes
/// against a map: every read agrees with the map.
fn matches_a_model(bucket: &dyn Bucket, seed: u64) -> Result<(), Violation> {
    let mut random = seed | 1;
    let mut next = move |below: u64| {
        // xorshift64: enough for choosing operations.
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        random % below
    };
    let mut model: BTreeMap<Vec<u8>, (Vec<u8>, u64)> = BTreeMap::new();
    for step in 0..2000 {
        let key = format!("m/{}", next(24)).into_bytes();
        let value = format!("v{step}").into_bytes();
        let current = model.get(&key).cloned();
        match next(5) {
            0 => {
                let revision = bucket.put(&key, &value).map_err(backend)?;
                model.insert(key.clone(), (value, revision));
            }
            1 => match (bucket.create(&key, &value), current) {
                (Ok(revision), None) => drop(model.insert(key.clone(), (value, revision))),
                (Err(StorageError::Conflict), Some(_)) => {}
                (result, current) => return Err(Violation(format!("create: {result:?} with {current:?}"))),
            },
            2 => {
                let stale = next(2) == 0;
                let at = current.as_ref().map_or(1, |(_, revision)| if stale { revision - 1 } else { *revision });
                match (bucket.update(&key, &value, at), current.is_some() && !stale) {
                    (Ok(revision), true) => drop(model.insert(key.clone(), (value, revision))),
                    (Err(StorageError::Conflict), false) => {}
                    (result, expected) => {
                        return Err(Violation(format!("update at {at}: {result:?}, expected success {expected}")));
                    }
                }
            }
            3 if next(2) == 0 => {
                bucket.delete(&key).map_err(backend)?;
                model.remove(&key);
            }
            3 => match (current, bucket.get(&key).map_err(backend)?) {
                (Some((_, revision)), Some(_)) => {
                    expect(bucket.delete_if(&key, revision.saturating_sub(1)) == Err(StorageError::Conflict), || {
                        "delete_if at a stale revision deleted".into()
                    })?;
                    bucket.delete_if(&key, revision).map_err(backend)?;
                    model.remove(&key);
                }
                (None, None) => {
                    expect(bucket.delete_if(&key, 1) == Err(StorageError::Conflict), || {
                        "delete_if of an absent key".into()
                    })?;
                }
                (model, stored) => return Err(Violation(format!("step {step}: model {model:?}, stored {stored:?}"))),
            },
            _ => {
                let read = bucket.get(&key).map_err(backend)?.map(|entry| (entry.value, entry.revision));
                expect(read == model.get(&key).cloned(), || format!("step {step}: read {read:?}"))?;
            }
        }
    }
    let stored: Contents = bucket
        .scan(b"m/")
        .map_err(backend)?
        .into_iter()
        .map(|(key, entry)| (key, (entry.value, entry.revision)))
        .collect();
    let expected: Contents = model.into_iter().collect();
    expect(stored == expected, || "the bucket's contents differ from the model".into())
}

/// Two tasks increment one counter through [`BucketExt::modify`]: no increment is lost.
async fn concurrent_updates_are_not_lost(bucket: Arc<dyn Bucket>) -> Result<(), Violation> {
    const EACH: u64 = 500;
    let increment = |bucket: Arc<dyn Bucket>| {
        tokio::task::spawn_blocking(move || {
            for _ in 0..EACH {
                bucket.modify(b"counter", &mut |old| Some((super::decode_u64(old) + 1).to_be_bytes().to_vec()))?;
            }
            Ok::<(), StorageError>(())
        })
    };
    let tasks = [increment(bucket.clone()), increment(bucket.clone())];
    for task in tasks {
        task.await.map_err(|error| Violation(error.to_string()))?.map_err(backend)?;
    }
    let total = super::decode_u64(bucket.value(b"counter").map_err(backend)?.as_deref());
    expect(total == 2 * EACH, || format!("concurrent increments: {total} of {}", 2 * EACH))
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sled_passes_the_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        for seed in [1, 2, 0x5eed] {
            let storage = crate::storage::sled::SledStorage::open(&dir.path().join(format!("db-{seed}"))).unwrap();
            super::check(&storage, seed).await.unwrap();
        }
    }
}
