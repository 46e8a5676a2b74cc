//! How Hearth's byte keys are laid out as JetStream KV keys, and how the keys under a
//! prefix are listed.
//!
//! A KV key is a NATS subject: tokens of `[-/_=a-zA-Z0-9]` joined by dots. A key
//! becomes `k` + the hex of its bytes. Most of Hearth's keys are scoped, `scope \0
//! rest` (a plugin's kv, a household's notifications, a device's commands): such a key
//! becomes `s` + hex(scope) + `.k` + hex(rest), the scope a token of its own, so the
//! server can be asked for one scope's keys alone. Without that, every listing of one
//! device's commands or one plugin's keys would read the keys of the whole fleet.

use crate::backend;
use async_nats::jetstream::consumer::{DeliverPolicy, ReplayPolicy, push};
use async_nats::jetstream::{kv, object_store};
use futures::StreamExt as _;
use hearth_host::storage::StorageError;

/// The KV key of `key`.
pub(crate) fn encode(key: &[u8]) -> String {
    match key.iter().position(|&byte| byte == 0) {
        Some(at) => format!("s{}.k{}", hex::encode(&key[..at]), hex::encode(&key[at + 1..])),
        None => format!("k{}", hex::encode(key)),
    }
}

/// The key a KV key stands for; `None` for keys Hearth did not write this way (the
/// layout marker).
pub(crate) fn decode(key: &str) -> Option<Vec<u8>> {
    if let Some(scoped) = key.strip_prefix('s') {
        let (scope, rest) = scoped.split_once(".k")?;
        let mut decoded = hex::decode(scope).ok()?;
        decoded.push(0);
        decoded.extend(hex::decode(rest).ok()?);
        return Some(decoded);
    }
    hex::decode(key.strip_prefix('k')?).ok()
}

/// The subject filter, within the bucket, that covers every key starting with
/// `prefix`: one scope when the prefix names a whole scope, else every key. Keys it
/// covers may still not start with `prefix`: callers check.
pub(crate) fn filter(prefix: &[u8]) -> String {
    match prefix.iter().position(|&byte| byte == 0) {
        Some(at) => format!("s{}.>", hex::encode(&prefix[..at])),
        None => ">".to_owned(),
    }
}

/// The KV keys under `filter` (see [`filter`]) that hold a value: the last message of
/// each matching subject, headers only, read until none is pending.
pub(crate) async fn list(
    client: &async_nats::Client,
    store: &kv::Store,
    filter: &str,
) -> Result<Vec<String>, StorageError> {
    let consumer = store
        .stream
        .create_consumer(push::OrderedConfig {
            deliver_subject: client.new_inbox(),
            filter_subject: format!("{}{filter}", store.prefix),
            headers_only: true,
            replay_policy: ReplayPolicy::Instant,
            deliver_policy: DeliverPolicy::LastPerSubject,
            ..Default::default()
        })
        .await
        .map_err(backend)?;
    let mut keys = Vec::new();
    if consumer.cached_info().num_pending == 0 {
        return Ok(keys);
    }
    let mut messages = consumer.messages().await.map_err(backend)?;
    loop {
        // The consumer was told how many messages match; a stall is the server's
        // failure (a leader moving), and reads are retried by the caller.
        let next = tokio::time::timeout(crate::BUCKET_TIMEOUT, messages.next()).await;
        let Ok(Some(message)) = next else {
            return Err(StorageError::Backend("listing keys timed out".into()));
        };
        let message = message.map_err(backend)?;
        let pending = message.info().map_err(backend)?.pending;
        let removed = message
            .headers
            .as_ref()
            .and_then(|headers| headers.get("KV-Operation"))
            .is_some_and(|operation| matches!(operation.as_str(), "DEL" | "PURGE"));
        if !removed && let Some(key) = message.subject.as_str().strip_prefix(store.prefix.as_str()) {
            keys.push(key.to_owned());
        }
        if pending == 0 {
            return Ok(keys);
        }
    }
}

/// Marks a bucket whose keys are laid out as above.
const LAYOUT: &str = "layout";

/// Moves the scoped keys of a bucket written before scopes were tokens of their own
/// (`k` + hex of the whole key) to their keys in this layout, once per bucket: the
/// `layout` marker says it was done. Safe to run on several hosts at once, and to
/// run again after it was cut short.
pub(crate) async fn upgrade_layout(
    client: &async_nats::Client,
    store: &kv::Store,
    objects: &object_store::ObjectStore,
) -> Result<(), StorageError> {
    if crate::live(store.entry(LAYOUT).await.map_err(backend)?).is_some() {
        return Ok(());
    }
    for old in list(client, store, ">").await? {
        let Some(key) = decode(&old) else { continue };
        let new = encode(&key);
        if new == old {
            continue;
        }
        let Some(entry) = crate::live(store.entry(old.as_str()).await.map_err(backend)?) else { continue };
        // Written under the new key since (by a host of this version): that one stands.
        if crate::live(store.entry(new.as_str()).await.map_err(backend)?).is_none() {
            let value = crate::value_of(objects, &old, &entry.value).await?;
            let stored = crate::stored_form(objects, &new, value.into()).await?;
            store.put(new.as_str(), stored).await.map_err(backend)?;
        }
        store.delete(old.as_str()).await.map_err(backend)?;
        crate::drop_object(objects, &old, &entry.value).await?;
    }
    store.put(LAYOUT, "2".into()).await.map_err(backend)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random keys and prefixes (fixed seed): every key comes back whole, is a valid KV
    /// key, and the filter of every prefix of it covers it.
    #[test]
    fn keys_round_trip_and_every_prefix_filter_covers_its_keys() {
        let mut random = fastrand::Rng::with_seed(0x5eed);
        let alphabet = [0u8, 0, b'a', b'b', b'/', 0xff, b'.'];
        for _ in 0..5_000 {
            let key: Vec<u8> = (0..random.usize(..12)).map(|_| alphabet[random.usize(..alphabet.len())]).collect();
            let encoded = encode(&key);
            assert_eq!(decode(&encoded).as_deref(), Some(&key[..]), "{encoded}");
            let valid = encoded.split('.').all(|token| {
                !token.is_empty() && token.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-/_=".contains(&byte))
            });
            assert!(valid, "{key:?} → {encoded}");
            for end in 0..=key.len() {
                let filter = filter(&key[..end]);
                let covered = filter == ">" || encoded.starts_with(filter.trim_end_matches('>'));
                assert!(covered, "{encoded} not under {filter} (prefix {:?})", &key[..end]);
            }
        }
        assert_eq!(decode(LAYOUT), None, "the marker is not a key");
    }
}
