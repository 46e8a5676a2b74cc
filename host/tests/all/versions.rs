//! WIT versions side by side: a plugin built against 0.1 (a frozen binary) and one
//! built against 0.2 (which takes events in batches) in one host, fed the same
//! randomized stream; and components whose version does not fit refused with a reason.

use crate::support::*;
use hearth_host::{Host, HostError};
use serde_json::{Value, json};

const OLD: &str = "test.hearth.recorder-v01";

/// Installs the 0.2 recorder and the 0.1 recorder, both also subscribed to washers.
async fn install_both(host: &Host) -> [String; 2] {
    let mut latest = manifest(hearth_test_components::RECORDER_PLUGIN_MANIFEST);
    latest.subscriptions.topics.push("appliance.washer.>".into());
    latest.limits.concurrency = Some(2);
    let mut old = manifest(hearth_test_components::V0_1_RECORDER_MANIFEST);
    assert_eq!(old.plugin.api, "0.1");
    old.plugin.id = OLD.into();
    old.subscriptions.topics.push("appliance.washer.>".into());
    old.limits.concurrency = Some(2);
    let latest_id = latest.plugin.id.clone();
    host.install(latest, hearth_test_components::read(hearth_test_components::RECORDER_PLUGIN)).await.unwrap();
    host.install(old, hearth_test_components::read(hearth_test_components::V0_1_RECORDER)).await.unwrap();
    [latest_id, OLD.to_owned()]
}

/// The same events reach both, each device's in order, a poison event fails alone
/// (dead-lettered after its retries, the device's later events still delivered after
/// it), and a washer event (a topic 0.1 does not know) reaches the 0.1 plugin as
/// `other`. Devices, batch sizes and poison are drawn from a fixed seed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_built_against_0_1_and_0_2_run_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let host = open_with(dir.path(), fast_retries()).await;
    let plugins = install_both(&host).await;
    let devices = ["fridge-1", "fridge-2", "fridge-3", "fridge-4"];
    let mut kinds: Vec<(&str, &str)> = devices.iter().map(|device| (*device, "fridge")).collect();
    kinds.push(("washer-1", "washer"));
    add_household(&host, "home", &kinds);
    for plugin in &plugins {
        host.grant("home", plugin, &grant_kinds(&["fridge", "washer"])).await.unwrap();
    }

    let mut seed = 0x5eed_0102_u64;
    let mut next = || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    let mut expected: Vec<Vec<Value>> = vec![Vec::new(); devices.len()];
    let (mut sent, mut poisoned, mut n) = (0u64, 0usize, 0u64);
    for round in 0..40 {
        let device = next() % devices.len();
        let batch: Vec<Value> = (0..1 + next() % 40)
            .map(|index| {
                n += 1;
                let id = format!("{}-{round}-{index}", devices[device]);
                if next() % 50 == 0 {
                    poisoned += 1;
                    event_json(&id, "ext.test.ordered", json!({"n": n, "poison": true}))
                } else {
                    event_json(&id, "ext.test.ordered", json!({"n": n}))
                }
            })
            .collect();
        for event in &batch {
            if event["body"]["poison"].is_null() {
                expected[device].push(event["body"].clone());
            }
        }
        sent += batch.len() as u64;
        host.ingest(devices[device], &bytes(&json!(batch))).await.unwrap();
    }
    assert!(poisoned > 0, "the seed draws some poison");
    let washer = event_json(
        "w1",
        "appliance.washer.state",
        json!({"state": "running", "program": "LaundryCare.Washer.Program.Cotton", "spin_rpm": 1200}),
    );
    host.ingest("washer-1", &bytes(&json!([washer]))).await.unwrap();
    sent += 1;

    for plugin in &plugins {
        wait_until("every event is delivered or dead-lettered", || async {
            let status = host.status(plugin).unwrap();
            status.delivered + host.dead_letters(plugin).unwrap().len() as u64 >= sent
        })
        .await;
        assert_eq!(host.dead_letters(plugin).unwrap().len(), poisoned, "{plugin}");
        let orders = recorder(&host, plugin, "order").await;
        let orders = orders.as_object().unwrap();
        assert_eq!(orders.len(), devices.len(), "{plugin}");
        let mut delivered: Vec<Vec<Value>> = orders
            .values()
            .map(|order| {
                // At least once: a redelivered event may be recorded again, never out of place.
                let mut first_copies: Vec<Value> = Vec::new();
                for body in order.as_array().unwrap() {
                    if !first_copies.contains(body) {
                        first_copies.push(body.clone());
                    }
                }
                first_copies
            })
            .collect();
        // The recorder keys orders by its own device refs: compare as a set of sequences.
        delivered.sort_by_key(|order| order.first().map(|body| body.to_string()));
        let mut wanted = expected.clone();
        wanted.sort_by_key(|order| order.first().map(|body| body.to_string()));
        assert_eq!(delivered, wanted, "{plugin}: each device's events, in order");
        let seen = recorder(&host, plugin, "seen").await;
        assert_eq!(seen["w1"], 1, "{plugin} got the washer event once: {seen}");
    }
    // The 0.2 recorder handles batches itself: the host handed it several events per call.
    let largest = recorder(&host, &plugins[0], "largest-batch").await;
    assert!(largest.as_u64().unwrap() > 1, "largest batch {largest}");
}

/// A component is loaded as the version it exports, which its manifest must name; a
/// version this host does not have is refused with the versions it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_runs_as_the_version_it_was_built_against_or_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let host = open(dir.path()).await;
    let refuse = |manifest, bytes| {
        let host = host.clone();
        async move {
            match host.install(manifest, bytes).await {
                Err(HostError::InvalidComponent(message)) => message,
                other => panic!("expected an invalid-component error, got {other:?}"),
            }
        }
    };
    let old_bytes = hearth_test_components::read(hearth_test_components::V0_1_RECORDER);
    let new_bytes = hearth_test_components::read(hearth_test_components::RECORDER_PLUGIN);
    let mut old_claims_new = manifest(hearth_test_components::V0_1_RECORDER_MANIFEST);
    old_claims_new.plugin.api = "0.2".into();
    let message = refuse(old_claims_new, old_bytes.clone()).await;
    assert!(message.contains("exports hearth:plugin/handler@0.1.0, but hearth.toml says api = \"0.2\""), "{message}");
    assert!(message.contains("set api = \"0.1\""), "{message}");
    let mut new_claims_old = manifest(hearth_test_components::RECORDER_PLUGIN_MANIFEST);
    new_claims_old.plugin.api = "0.1".into();
    let message = refuse(new_claims_old, new_bytes.clone()).await;
    assert!(message.contains("set api = \"0.2\""), "{message}");

    // The same component, renamed to export a handler version no host has released.
    let future = replace_all(&new_bytes, b"hearth:plugin/handler@0.2.0", b"hearth:plugin/handler@0.9.0");
    let message = refuse(manifest(hearth_test_components::RECORDER_PLUGIN_MANIFEST), future).await;
    assert!(
        message.contains("exports hearth:plugin/handler@0.9.0, built against a WIT version this host"),
        "{message}"
    );
    assert!(message.contains("hearth:plugin/handler@0.1.0, hearth:plugin/handler@0.2.0"), "{message}");
    assert!(host.plugins().is_empty(), "nothing was installed");

    // And with the right manifests, both install and answer.
    host.install(manifest(hearth_test_components::V0_1_RECORDER_MANIFEST), old_bytes).await.unwrap();
    assert_eq!(recorder(&host, RECORDER, "seen").await, json!({}));
}

fn replace_all(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len(), "same length keeps the binary's sizes valid");
    let mut out = bytes.to_vec();
    let mut replaced = 0;
    let mut at = 0;
    while let Some(offset) = out[at..].windows(from.len()).position(|window| window == from) {
        out[at + offset..at + offset + to.len()].copy_from_slice(to);
        at += offset + to.len();
        replaced += 1;
    }
    assert!(replaced > 0, "the name occurs in the component");
    out
}

/// A 0.1 component whose manifest leaves kv out installs as well (every capability is
/// linked under both versions' names); 0.1 has no `not-granted`, so its kv calls are
/// refused with `unavailable` carrying the manifest line, and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_0_1_plugin_without_kv_installs_and_its_kv_calls_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let host = open_with(dir.path(), fast_retries()).await;
    let mut old = manifest(hearth_test_components::V0_1_RECORDER_MANIFEST);
    old.capabilities.kv = false;
    let id = old.plugin.id.clone();
    host.install(old, hearth_test_components::read(hearth_test_components::V0_1_RECORDER)).await.unwrap();
    add_household(&host, "home", &[("fridge-1", "fridge")]);
    host.grant("home", &id, &grant_kinds(&["fridge"])).await.unwrap();
    let event = event_json("e-1", "ext.test.ordered", json!({"n": 1}));
    host.ingest("fridge-1", &bytes(&json!([event]))).await.unwrap();
    wait_until("the kv call is refused", || async { host.status(&id).unwrap().calls_not_granted > 0 }).await;
    assert_eq!(host.status(&id).unwrap().delivered, 0, "the recorder cannot record without kv");
    host.logbook().store_pending().unwrap();
    let log = host.logbook().read(&id, None, 100).unwrap();
    assert!(log.iter().any(|line| line.message.contains("refused") && line.message.contains("kv = true")), "{log:?}");
}
