//! The conformance suite of the stream primitive: what every [`EventLog`] must do, run
//! against an empty log. Like the bucket suite it returns the first violation.

use super::{EventLog, StoredEvent};
use crate::bindings::{DoorState, EventBody};
use crate::storage::conformance::Violation;
use std::time::Duration;

fn expect(holds: bool, what: impl FnOnce() -> String) -> Result<(), Violation> {
    if holds { Ok(()) } else { Err(Violation(what())) }
}

fn failed(error: impl std::fmt::Display) -> Violation {
    Violation(format!("unexpected error: {error}"))
}

fn event(id: &str, device: &str, household: &str) -> StoredEvent {
    StoredEvent {
        id: id.into(),
        topic: "appliance.fridge.door".into(),
        time_ms: 1,
        household: household.into(),
        device: Some(device.into()),
        body: EventBody::FridgeDoor(DoorState::Open),
        target: None,
        pseudonymous: false,
    }
}

/// Runs every check against `log`, which must be empty. `seed` fixes the randomized part.
pub async fn check(log: &dyn EventLog, seed: u64) -> Result<(), Violation> {
    // A consumer opened on an empty log starts at its end and sees what comes after.
    expect(log.open_consumer("p|a").map_err(failed)? == 0, || "a new consumer does not start at the end".into())?;
    let mut watch = log.watch();

    // Appends are ordered and deduplicated per device; another device's id is its own.
    let appended = log
        .append(vec![event("e1", "d1", "h1"), event("e2", "d1", "h1"), event("e1", "d1", "h1")])
        .await
        .map_err(failed)?;
    let seqs: Vec<(u64, bool)> = appended.iter().map(|a| (a.seq, a.duplicate)).collect();
    expect(seqs == [(1, false), (2, false), (1, true)], || format!("append answered {seqs:?}"))?;
    let other = log.append(vec![event("e1", "d2", "h2")]).await.map_err(failed)?;
    expect(other[0].seq == 3 && !other[0].duplicate, || format!("another device's id was taken: {other:?}"))?;
    let again = log.append(vec![event("e2", "d1", "h1")]).await.map_err(failed)?;
    expect(again[0].seq == 2 && again[0].duplicate, || format!("a resent id was stored again: {again:?}"))?;
    expect(log.last_seq() == 3, || format!("last_seq {}", log.last_seq()))?;
    let woke = tokio::time::timeout(Duration::from_secs(5), watch.changed()).await.is_ok();
    expect(woke && *watch.borrow() >= 1, || "watch did not report the appends".into())?;

    // Reads after a position, in order, at most `max`.
    let read = log.read_after(0, 10).map_err(failed)?;
    let ids: Vec<(u64, &str)> = read.iter().map(|(seq, event)| (*seq, event.id.as_str())).collect();
    expect(ids == [(1, "e1"), (2, "e2"), (3, "e1")], || format!("read_after(0): {ids:?}"))?;
    expect(log.read_after(1, 1).map_err(failed)?.first().map(|(seq, _)| *seq) == Some(2), || {
        "read_after(1, 1)".into()
    })?;
    expect(log.read_after(3, 10).map_err(failed)?.is_empty(), || "read past the end".into())?;

    // Cursors only move forward, lag counts the slowest consumer, prefixes select.
    expect(log.lag().map_err(failed)? == 3, || "lag of a consumer at 0".into())?;
    expect(log.ack("p|a", 2).map_err(failed)? == 2, || "ack to 2".into())?;
    expect(log.ack("p|a", 1).map_err(failed)? == 2, || "a cursor moved backwards".into())?;
    expect(log.open_consumer("p|a").map_err(failed)? == 2, || "the cursor was not stored".into())?;
    expect(log.open_consumer("q|b").map_err(failed)? == 3, || "a later consumer does not start at the end".into())?;
    expect(log.lag_of("p|").map_err(failed)? == 1 && log.lag_of("q|").map_err(failed)? == 0, || "lag_of".into())?;

    // The backlog bound moves a consumer that is too far behind up to it.
    let mut random = seed | 1;
    let extra = 5 + (random % 20) as usize;
    random ^= random << 13;
    let events: Vec<StoredEvent> = (0..extra).map(|n| event(&format!("x{n}-{random}"), "d3", "h3")).collect();
    log.append(events).await.map_err(failed)?;
    let end = log.last_seq();
    let moved = log.bound_backlogs(2).map_err(failed)?;
    expect(moved.iter().any(|(consumer, passed)| consumer == "p|a" && *passed == end - 2 - 2), || {
        format!("bound_backlogs(2) at {end}: {moved:?}")
    })?;
    expect(log.open_consumer("p|a").map_err(failed)? == end - 2, || "the bound was not stored".into())?;

    // Erasure: the household's events are no longer read by anybody (a backend may
    // leave tombstones in their place), every other event keeps its position, and the
    // household's ids are free again.
    let before = log.read_after(0, 100).map_err(failed)?;
    let erased = log.erase_household("h1").map_err(failed)?;
    expect(erased == 2, || format!("erased {erased} events of h1"))?;
    let after = log.read_after(0, 100).map_err(failed)?;
    expect(after.iter().all(|(_, event)| event.household != "h1" && event.device.as_deref() != Some("d1")), || {
        "an erased event still names the household".into()
    })?;
    let ids =
        |events: &[(u64, std::sync::Arc<StoredEvent>)], keep: &dyn Fn(&StoredEvent) -> bool| -> Vec<(u64, String)> {
            events.iter().filter(|(_, event)| keep(event)).map(|(seq, event)| (*seq, event.id.clone())).collect()
        };
    let expected = ids(&before, &|event| event.household != "h1");
    let kept = ids(&after, &|event| !event.id.is_empty());
    expect(kept == expected && expected.len() as u64 == end - 2, || "erasure moved other events".into())?;
    let reused = log.append(vec![event("e1", "d1", "h1")]).await.map_err(failed)?;
    expect(!reused[0].duplicate, || "an erased device's id is still taken".into())?;

    // Forgetting a plugin's consumers: a late ack or read does not bring one back.
    expect(log.remove_consumers("p|").map_err(failed)? == 1, || "remove_consumers".into())?;
    log.ack("p|a", end).map_err(failed)?;
    expect(log.cursor("p|a").map_err(failed)?.is_none(), || "an ack recreated a removed cursor".into())?;
    expect(log.cursor("q|b").map_err(failed)?.is_some_and(|seq| seq >= 3), || "cursor() of a live consumer".into())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sled_log_passes_the_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        for seed in [1, 2, 0x5eed] {
            let db = ::sled::open(dir.path().join(format!("db-{seed}"))).unwrap();
            let log = super::super::SledLog::open(&db, true).unwrap();
            super::check(&*log, seed).await.unwrap();
        }
    }
}
