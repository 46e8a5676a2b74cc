//! The hostile-plugin suite: each misbehaviour in `init`, in `on-event` (through the
//! log, with retries and dead letters) and in `handle`. For each: the call fails with
//! its reason, the host stays up, another plugin keeps processing its events, repeated
//! failures quarantine the offender, and nothing of another plugin or household is
//! readable. Figures (the bystander's latency) are printed, not asserted.

use crate::support::*;
use hearth_host::bindings::{Caller, ServiceRequest};
use hearth_host::{CallError, Host, HostConfig};
use std::time::{Duration, Instant};

const HOSTILE: &str = "test.hearth.hostile";

/// (behaviour, what the failure says, whether it applies to on-event and init)
const CASES: &[(&str, &str, bool)] = &[
    ("loop", "timed out", true),
    ("sleep", "timed out", true),
    ("grow-memory", "memory limit", true),
    // A shadow-stack overflow runs below linear memory's start: an out-of-bounds trap.
    ("recurse", "out of bounds memory access", true),
    ("recurse-native", "call stack exhausted", true),
    ("trap", "unreachable", true),
    ("kv-flood", "quota exceeded", true),
    ("call-cycle", "cycle", true),
    ("huge-error", "(cut)", true),
    // An answer only exists in `handle`.
    ("huge-output", "over the 1048576-byte cap", false),
];

fn request(operation: &str) -> ServiceRequest {
    ServiceRequest {
        service: "hostile".into(),
        operation: operation.into(),
        caller: Caller::Operator,
        household: None,
        input: Vec::new(),
    }
}

async fn call(host: &Host, behaviour: &str) -> Result<Vec<u8>, CallError> {
    host.call_plugin(HOSTILE, request(behaviour)).await.map(|response| response.output)
}

/// A host with the hostile plugin and the recorder as a bystander, both granted the
/// household's sensor; failures retry quickly and never quarantine (checked apart).
async fn setup(dir: &std::path::Path, quarantine_after: u32) -> Host {
    let mut config = fast_retries();
    config.delivery.quarantine_after = quarantine_after;
    let host = open_with(dir, config).await;
    install_hostile(&host).await;
    install_recorder(&host, None, None).await;
    add_household(&host, "h1", &[("sensor-1", "fridge")]);
    for plugin in [HOSTILE, RECORDER] {
        host.grant("h1", plugin, &grant_kinds(&["fridge"])).await.unwrap();
    }
    host
}

/// Sends `count` events for the bystander in the background, one every 2 ms, and
/// returns how long each took from ingest to delivery.
fn bystander(host: &Host, prefix: &'static str, count: usize) -> tokio::task::JoinHandle<Vec<Duration>> {
    let host = host.clone();
    tokio::spawn(async move {
        let mut latencies = Vec::with_capacity(count);
        for n in 0..count {
            let before = host.kv_keys(RECORDER, "seen/").unwrap().len();
            let started = Instant::now();
            let event = event_json(&format!("{prefix}-{n}"), "ext.test.bystander", serde_json::json!({"n": n}));
            host.ingest("sensor-1", &bytes(&event)).await.unwrap();
            while host.kv_keys(RECORDER, "seen/").unwrap().len() <= before {
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            latencies.push(started.elapsed());
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        latencies
    })
}

/// The start of a message, for assertion output.
fn head(message: &str) -> &str {
    &message[..message.len().min(300)]
}

fn median(mut latencies: Vec<Duration>) -> Duration {
    latencies.sort();
    latencies[latencies.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_misbehaviour_fails_only_its_own_call_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let host = setup(dir.path(), 10_000).await;
    let quiet = median(bystander(&host, "quiet", 50).await.unwrap());
    let busy = bystander(&host, "busy", 150);

    for &(behaviour, reason, everywhere) in CASES {
        // handle
        let error = call(&host, behaviour).await.unwrap_err().to_string();
        assert!(error.contains(reason), "handle {behaviour}: {}", head(&error));
        assert!(error.len() < 2_048, "handle {behaviour}: the reason is bounded ({} bytes)", error.len());
        assert_eq!(call(&host, "ok").await.unwrap(), b"ok", "after {behaviour} the next call is served");
        if !everywhere {
            continue;
        }

        // on-event, through the log: retried, then dead-lettered with the reason.
        let id = format!("hostile-{behaviour}");
        let event = event_json(&id, &format!("ext.hostile.{behaviour}"), serde_json::json!({}));
        host.ingest("sensor-1", &bytes(&event)).await.unwrap();
        wait_until(&format!("{behaviour} is dead-lettered"), || async {
            host.dead_letters(HOSTILE).unwrap().iter().any(|letter| letter.event.id == id)
        })
        .await;
        let letter = host.dead_letters(HOSTILE).unwrap().into_iter().find(|letter| letter.event.id == id).unwrap();
        assert!(letter.error.contains(reason), "on-event {behaviour}: {}", head(&letter.error));
        assert!(letter.error.len() < 2_048);
        assert_eq!(letter.attempts, 5);

        // init: a fresh instance runs it; the call that needed the instance fails.
        host.set_config(HOSTILE, "init", behaviour).await.unwrap();
        let _ = call(&host, "trap").await; // discards the live instance
        let error = call(&host, "ok").await.unwrap_err();
        assert!(matches!(error, CallError::Start(_)), "init {behaviour}: {}", head(&error.to_string()));
        assert!(error.to_string().contains(reason), "init {behaviour}: {}", head(&error.to_string()));
        assert!(error.to_string().len() < 2_048, "init {behaviour}: the reason is bounded");
        host.set_config(HOSTILE, "init", "ok").await.unwrap();
        assert_eq!(call(&host, "ok").await.unwrap(), b"ok");
    }

    let busy = busy.await.unwrap();
    let status = host.status(RECORDER).unwrap();
    assert_eq!(status.failed, 0, "the bystander never failed");
    assert!(!host.status(HOSTILE).unwrap().quarantined);
    eprintln!(
        "bystander median ingest-to-delivered latency: {:?} alone, {:?} beside the hostile plugin ({:.2}x)",
        quiet,
        median(busy.clone()),
        median(busy).as_secs_f64() / quiet.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_on_every_event_quarantines_the_offender_and_others_flow_on() {
    let dir = tempfile::tempdir().unwrap();
    let host = setup(dir.path(), 10).await;
    let events: Vec<serde_json::Value> = (0..3)
        .map(|n| event_json(&format!("panic-{n}"), "ext.hostile.trap", serde_json::json!({})))
        .chain((0..20).map(|n| event_json(&format!("fine-{n}"), "ext.test.fine", serde_json::json!({}))))
        .collect();
    host.ingest("sensor-1", &bytes(&serde_json::json!(events))).await.unwrap();
    wait_until("the offender is quarantined", || async { host.status(HOSTILE).unwrap().quarantined }).await;
    wait_until("the bystander has every event", || async { host.kv_keys(RECORDER, "seen/fine-").unwrap().len() == 20 })
        .await;
    let status = host.status(HOSTILE).unwrap();
    assert_eq!((status.quarantines, status.failed), (1, 10), "{status:?}");
    assert!(host.dead_letters(HOSTILE).unwrap().len() <= 2, "the third event waits in the log");
    let error = call(&host, "ok").await;
    assert!(error.is_ok(), "a direct call still reaches it; routed calls skip it: {error:?}");
    let routed = host.call_service("hostile", "ok", Caller::Operator, None, Vec::new()).await;
    assert_eq!(routed, Err(CallError::Quarantined("hostile.ok".into())));

    // The operator resumes it: the waiting events are delivered (and fail again).
    assert!(host.resume(HOSTILE).await.unwrap());
    wait_until("the waiting event is handled", || async {
        host.dead_letters(HOSTILE).unwrap().len() == 3 || host.status(HOSTILE).unwrap().quarantined
    })
    .await;
}

/// One event that traps in the middle of a batch: the batch call fails, the same
/// events go again one per call, and only the trapping one is retried and
/// dead-lettered; the events before and after it are acknowledged, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trapping_event_in_a_batch_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let host = setup(dir.path(), 10).await;
    let events: Vec<serde_json::Value> = (0..12)
        .map(|n| {
            let behaviour = if n == 6 { "trap" } else { "ok" };
            event_json(&format!("e{n}"), &format!("ext.hostile.{behaviour}"), serde_json::json!({}))
        })
        .collect();
    host.ingest("sensor-1", &bytes(&serde_json::json!(events))).await.unwrap();
    wait_until("all but the trapping event are delivered and it is dead-lettered", || async {
        host.status(HOSTILE).unwrap().delivered == 11 && host.dead_letters(HOSTILE).unwrap().len() == 1
    })
    .await;
    let letters = host.dead_letters(HOSTILE).unwrap();
    assert_eq!(letters[0].event.id, "e6", "{letters:?}");
    let status = host.status(HOSTILE).unwrap();
    assert!(!status.quarantined, "{status:?}");
    assert_eq!(status.failed, 5, "the trapping event's attempts, one by one: {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_flood_is_rate_limited_truncated_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let host = setup(dir.path(), 10).await;
    assert_eq!(call(&host, "log-flood").await.unwrap(), b"flooded");
    let dropped = host.status(HOSTILE).unwrap().log_lines_dropped;
    assert!(dropped >= 15_000, "20,000 lines in well under a second: only the burst gets through ({dropped} dropped)");
    let metrics = host.render_metrics();
    assert!(
        metrics.contains(&format!("hearth_plugin_log_lines_dropped_total{{plugin=\"{HOSTILE}\"}} {dropped}")),
        "{metrics}"
    );
    assert_eq!(host.status(RECORDER).unwrap().log_lines_dropped, 0, "budgets are per plugin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_sees_only_its_own_data_and_pseudonyms() {
    let dir = tempfile::tempdir().unwrap();
    let host = setup(dir.path(), 10).await;
    let event = event_json("private-1", "ext.test.private", serde_json::json!({}));
    host.ingest("sensor-1", &bytes(&event)).await.unwrap();
    wait_until("the recorder stored it", || async { !host.kv_keys(RECORDER, "seen/").unwrap().is_empty() }).await;
    assert!(call(&host, "kv-flood").await.is_err());

    let snooped: serde_json::Value = serde_json::from_slice(&call(&host, "snoop").await.unwrap()).unwrap();
    let keys: Vec<&str> = snooped["keys"].as_array().unwrap().iter().map(|key| key.as_str().unwrap()).collect();
    assert!(!keys.is_empty() && keys.iter().all(|key| key.starts_with("flood/")), "only its own keys: {keys:?}");
    let recorded = host.kv_get(RECORDER, "households").unwrap().unwrap();
    let recorded = String::from_utf8(recorded).unwrap();
    assert!(!recorded.contains("h1"), "the recorder saw a pseudonym, never the household id: {recorded}");
    let hostile_ref = host.household_ref(HOSTILE, "h1").unwrap();
    let recorder_ref = host.household_ref(RECORDER, "h1").unwrap();
    assert_ne!(hostile_ref, recorder_ref, "pseudonyms differ per plugin, so plugins cannot correlate households");
    assert!(recorded.contains(&recorder_ref));
    let usage: usize = keys.len() * (60 << 10);
    assert!(usage <= HostConfig::default().kv_quota_bytes as usize, "the quota held: {usage} bytes");
}

/// The memory hog: a component written against the binary format, not the SDK, with
/// six extra core modules that each fill a memory of their own with 16 MiB when the
/// instance starts. Each memory is under a 64 MiB limit, together they are over it:
/// the instance does not start, for any of its lanes. Under 128 MiB they fit, so the
/// fixture itself is sound and it is the sum that is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_memories_count_together_against_the_instance_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = HostConfig::default();
    config.max_limits.memory_bytes = 128 << 20;
    let host = open_with(dir.path(), config).await;
    let hog = |id: &str, memory_mb: u32| {
        let mut manifest = manifest(hearth_test_components::RECORDER_PLUGIN_MANIFEST);
        manifest.plugin.id = id.into();
        manifest.limits.memory_mb = Some(memory_mb);
        manifest.limits.concurrency = Some(4);
        manifest
    };
    let component = hearth_test_components::read(hearth_test_components::MEMORY_HOG);
    host.install(hog("test.hearth.hog-64", 64), component.clone()).await.unwrap();
    host.install(hog("test.hearth.hog-128", 128), component).await.unwrap();
    let seen = |plugin: &'static str| {
        let host = host.clone();
        async move {
            let mut request = request("seen");
            request.service = "recorder".into();
            host.call_plugin(plugin, request).await
        }
    };
    for _ in 0..4 {
        match seen("test.hearth.hog-64").await {
            Err(CallError::Start(message)) => assert!(message.contains("memory limit"), "{message}"),
            other => panic!("the hog started under 64 MiB: {other:?}"),
        }
    }
    assert!(seen("test.hearth.hog-128").await.is_ok(), "six memories of 16 MiB fit in 128 MiB");
    host.shutdown().await.unwrap();
}
