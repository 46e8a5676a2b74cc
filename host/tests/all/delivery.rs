//! Durable delivery end to end: ingest → log → consumers → plugins, with consent,
//! pseudonymous refs, retries, dead letters, quarantine and backpressure.

use crate::support::*;
use hearth_host::events::ingest::IngestError;
use hearth_host::{HostConfig, HostError};
use serde_json::json;

async fn seen(host: &hearth_host::Host, plugin: &str) -> serde_json::Value {
    recorder(host, plugin, "seen").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_validates_whole_batches_and_is_idempotent_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let host = open(dir.path()).await;
    add_household(&host, "h1", &[("fridge-1", "fridge")]);

    let unknown = host.ingest("fridge-9", &bytes(&fridge_json("a", "egg"))).await;
    assert!(matches!(unknown, Err(IngestError::UnknownDevice(ref d)) if d == "fridge-9"), "{unknown:?}");
    assert!(matches!(host.ingest("fridge-1", b"{\"id\": ").await, Err(IngestError::Malformed(_))));
    assert!(matches!(host.ingest("fridge-1", b"\xff\xfe").await, Err(IngestError::Malformed(_))));
    assert!(matches!(host.ingest("fridge-1", b"42").await, Err(IngestError::Malformed(_))));

    let batch = json!([
        fridge_json("a", "egg"),
        {"id": "b", "topic": "appliance.toaster.state", "body": {}},
        {"id": "c", "topic": "appliance.fridge.door", "body": {"state": "ajar"}},
        {"id": "d", "topic": "appliance.fridge.door", "body": {"state": "open"}, "colour": "red"},
    ]);
    match host.ingest("fridge-1", &bytes(&batch)).await {
        Err(IngestError::Invalid { total: 4, errors }) => {
            let indexes: Vec<usize> = errors.iter().map(|e| e.index).collect();
            assert_eq!(indexes, [1, 2, 3]);
            assert!(errors[0].reason.contains("unknown topic"), "{}", errors[0].reason);
            assert!(errors[1].reason.contains("ajar"), "{}", errors[1].reason);
            assert!(errors[2].reason.contains("colour"), "{}", errors[2].reason);
            assert_eq!(errors[1].id.as_deref(), Some("c"));
        }
        other => panic!("expected per-event errors, got {other:?}"),
    }

    let receipts =
        host.ingest("fridge-1", &bytes(&json!([fridge_json("a", "egg"), fridge_json("b", "milk")]))).await.unwrap();
    assert_eq!(
        receipts.iter().map(|r| (r.seq, r.duplicate)).collect::<Vec<_>>(),
        [(1, false), (2, false)],
        "the refused batch stored nothing"
    );
    let again = host.ingest("fridge-1", &bytes(&fridge_json("a", "egg"))).await.unwrap();
    assert_eq!((again[0].seq, again[0].duplicate), (1, true));
    let generated = host
        .ingest("fridge-1", &bytes(&json!({"topic": "appliance.fridge.door", "body": {"state": "closed"}})))
        .await
        .unwrap();
    assert!(generated[0].id.starts_with("evt-") && generated[0].seq == 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_consented_events_are_delivered_and_revocation_stops_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let host = open(dir.path()).await;
    add_household(&host, "h1", &[("fridge-1", "fridge"), ("oven-1", "oven")]);
    let plugin = install_recorder(&host, None, None).await;

    host.ingest("fridge-1", &bytes(&fridge_json("before-grant", "egg"))).await.unwrap();
    wait_until("the ungranted event is skipped", || async {
        host.status(&plugin).unwrap().skipped_without_consent == 1
    })
    .await;

    host.grant("h1", &plugin, &grant_kinds(&["fridge"])).await.unwrap();
    host.ingest("fridge-1", &bytes(&fridge_json("granted", "egg"))).await.unwrap();
    // The oven is not covered by the grant (and its topic is not subscribed either).
    host.ingest("oven-1", &bytes(&event_json("oven-ext", "ext.test.oven", json!({})))).await.unwrap();
    wait_until("the granted event arrives", || async { host.status(&plugin).unwrap().delivered == 1 }).await;
    wait_until("the oven event is skipped", || async { host.status(&plugin).unwrap().skipped_without_consent == 2 })
        .await;
    assert_eq!(seen(&host, &plugin).await, json!({"granted": 1}));

    assert!(host.revoke("h1", &plugin).await.unwrap());
    host.ingest("fridge-1", &bytes(&fridge_json("after-revoke", "egg"))).await.unwrap();
    wait_until("the plugin hears of the revocation", || async {
        recorder(&host, &plugin, "revoked").await.as_array().is_some_and(|r| r.len() == 1)
    })
    .await;
    wait_until("the later event is skipped", || async { host.status(&plugin).unwrap().skipped_without_consent == 3 })
        .await;
    assert_eq!(seen(&host, &plugin).await, json!({"granted": 1}));
    let households = recorder(&host, &plugin, "households").await;
    assert_eq!(recorder(&host, &plugin, "revoked").await, households, "the notice carries the ref the plugin knows");
    assert!(!households.to_string().contains("h1"), "plugins never see the real household id");
    assert!(!host.revoke("h1", &plugin).await.unwrap(), "nothing left to revoke");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refs_differ_between_plugins_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (first_a, first_b) = {
        let host = open(dir.path()).await;
        add_household(&host, "h1", &[("fridge-1", "fridge")]);
        let a = install_recorder(&host, Some("test.hearth.recorder-a"), None).await;
        let b = install_recorder(&host, Some("test.hearth.recorder-b"), None).await;
        for plugin in [&a, &b] {
            host.grant("h1", plugin, &grant_kinds(&["fridge"])).await.unwrap();
        }
        host.ingest("fridge-1", &bytes(&fridge_json("e1", "egg"))).await.unwrap();
        for plugin in [&a, &b] {
            wait_until("both plugins get the event", || async { host.status(plugin).unwrap().delivered == 1 }).await;
        }
        let refs = (recorder(&host, &a, "households").await, recorder(&host, &b, "households").await);
        host.shutdown().await.unwrap();
        refs
    };
    assert_ne!(first_a, first_b, "two plugins must not be able to link a household");

    let host = open(dir.path()).await;
    host.ingest("fridge-1", &bytes(&fridge_json("e2", "milk"))).await.unwrap();
    for plugin in ["test.hearth.recorder-a", "test.hearth.recorder-b"] {
        // Counters are stored: the event before the restart still counts.
        wait_until("the event after the restart arrives", || async { host.status(plugin).unwrap().delivered == 2 })
            .await;
    }
    assert_eq!(recorder(&host, "test.hearth.recorder-a", "households").await, first_a);
    assert_eq!(recorder(&host, "test.hearth.recorder-b", "households").await, first_b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_retry_then_dead_letter_then_redrive() {
    let dir = tempfile::tempdir().unwrap();
    let host = open_with(dir.path(), fast_retries()).await;
    add_household(&host, "h1", &[("fridge-1", "fridge")]);
    let plugin = install_recorder(&host, None, None).await;
    host.grant("h1", &plugin, &grant_kinds(&["fridge"])).await.unwrap();

    let events =
        json!([event_json("poison-1", "ext.test.thing", json!({"poison": true})), fridge_json("healthy", "egg"),]);
    host.ingest("fridge-1", &bytes(&events)).await.unwrap();
    wait_until("the poison event is dead-lettered", || async { host.status(&plugin).unwrap().dead_lettered == 1 })
        .await;
    wait_until("the next event is delivered", || async { host.status(&plugin).unwrap().delivered == 1 }).await;
    let status = host.status(&plugin).unwrap();
    assert_eq!((status.failed, status.retried), (5, 4), "5 attempts: the first and 4 retries");
    assert!(!status.quarantined);

    let letters = host.dead_letters(&plugin).unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].event.id, "poison-1");
    assert_eq!(letters[0].attempts, 5);
    assert!(letters[0].error.contains("is poison"), "{}", letters[0].error);
    assert_eq!(host.dead_letter(&plugin, letters[0].seq).unwrap().as_ref(), Some(&letters[0]));

    // Still poison: the re-drive fails and the letter stays, with one more attempt.
    assert!(matches!(host.redrive(&plugin, letters[0].seq).await, Err(HostError::Delivery(_))));
    assert_eq!(host.dead_letters(&plugin).unwrap()[0].attempts, 6);

    host.set_config(&plugin, "cure", "yes").await.unwrap();
    host.redrive(&plugin, letters[0].seq).await.unwrap();
    assert!(host.dead_letters(&plugin).unwrap().is_empty());
    assert_eq!(seen(&host, &plugin).await, json!({"healthy": 1, "poison-1": 1}));
    assert!(matches!(host.redrive(&plugin, letters[0].seq).await, Err(HostError::NotFound(_))));
}

/// Events reach an instance in runs (one message per run); a failure inside a run is
/// retried and dead-lettered on its own, and the events behind it follow in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_inside_a_run_holds_the_order_of_the_events_behind_it() {
    let dir = tempfile::tempdir().unwrap();
    let host = open_with(dir.path(), fast_retries()).await;
    add_household(&host, "h1", &[("fridge-1", "fridge")]);
    let plugin = install_recorder(&host, None, None).await;
    host.grant("h1", &plugin, &grant_kinds(&["fridge"])).await.unwrap();

    let events: Vec<_> =
        (0..40).map(|n| event_json(&format!("n{n}"), "ext.test.ordered", json!({"n": n, "poison": n == 17}))).collect();
    host.ingest("fridge-1", &bytes(&json!(events))).await.unwrap();
    wait_until("the rest are delivered", || async { host.status(&plugin).unwrap().delivered == 39 }).await;

    let status = host.status(&plugin).unwrap();
    assert_eq!((status.failed, status.retried, status.dead_lettered), (5, 4, 1));
    let letters = host.dead_letters(&plugin).unwrap();
    assert_eq!(letters.iter().map(|letter| letter.event.id.as_str()).collect::<Vec<_>>(), ["n17"]);
    let orders = recorder(&host, &plugin, "order").await;
    let order: Vec<u64> = orders
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["n"].as_u64().unwrap())
        .collect();
    assert_eq!(order, (0..40).filter(|&n| n != 17).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consecutive_failures_quarantine_until_an_operator_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_retries();
    config.delivery.quarantine_after = 3;
    let host = open_with(dir.path(), config).await;
    add_household(&host, "h1", &[("fridge-1", "fridge")]);
    let plugin = install_recorder(&host, None, None).await;
    host.grant("h1", &plugin, &grant_kinds(&["fridge"])).await.unwrap();
    host.set_config(&plugin, "fail", "all").await.unwrap();

    let events = json!([fridge_json("q1", "egg"), fridge_json("q2", "milk"), fridge_json("q3", "butter")]);
    host.ingest("fridge-1", &bytes(&events)).await.unwrap();
    wait_until("the plugin is quarantined", || async { host.status(&plugin).unwrap().quarantined }).await;
    let status = host.status(&plugin).unwrap();
    assert_eq!((status.failed, status.dead_lettered, status.quarantines), (3, 0, 1));
    assert!(host.dead_letters(&plugin).unwrap().is_empty(), "quarantined events wait in the log");
    assert_eq!(host.lag().unwrap(), 3);
    assert!(host.render_metrics().contains(&format!("hearth_plugin_lag_events{{plugin=\"{plugin}\"}} 3\n")));
    // Its services are off too.
    let call = host.call_service("recorder", "seen", hearth_host::bindings::Caller::Operator, None, Vec::new()).await;
    assert_eq!(call, Err(hearth_host::CallError::Quarantined("recorder.seen".into())));

    // The quarantine survives a restart.
    host.shutdown().await.unwrap();
    let mut config = fast_retries();
    config.delivery.quarantine_after = 3;
    let host = open_with(dir.path(), config).await;
    assert!(host.status(&plugin).unwrap().quarantined);

    host.set_config(&plugin, "fail", "none").await.unwrap();
    assert!(host.resume(&plugin).await.unwrap());
    wait_until("the waiting events are delivered", || async { host.status(&plugin).unwrap().delivered == 3 }).await;
    assert_eq!(seen(&host, &plugin).await, json!({"q1": 1, "q2": 1, "q3": 1}));
    wait_until("the log is drained", || async { host.lag().unwrap() == 0 }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_device_order_holds_with_parallel_instances() {
    let dir = tempfile::tempdir().unwrap();
    let host = open(dir.path()).await;
    let devices = ["fridge-1", "fridge-2", "fridge-3", "fridge-4", "fridge-5", "fridge-6"];
    add_household(&host, "h1", &devices.map(|device| (device, "fridge")));
    let plugin = install_recorder(&host, None, Some(4)).await;
    host.grant("h1", &plugin, &grant_kinds(&["fridge"])).await.unwrap();

    // Devices send concurrently, in small batches, so the log interleaves them.
    const PER_DEVICE: usize = 60;
    let senders: Vec<_> = devices
        .iter()
        .map(|device| {
            let host = host.clone();
            let device = device.to_string();
            tokio::spawn(async move {
                for chunk in (0..PER_DEVICE).collect::<Vec<_>>().chunks(7) {
                    let batch: Vec<_> = chunk
                        .iter()
                        .map(|n| {
                            event_json(&format!("{device}-{n}"), "ext.test.ordered", json!({"device": device, "n": n}))
                        })
                        .collect();
                    host.ingest(&device, &bytes(&json!(batch))).await.unwrap();
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    let total = (devices.len() * PER_DEVICE) as u64;
    wait_until("every event is delivered", || async { host.status(&plugin).unwrap().delivered == total }).await;

    let orders = recorder(&host, &plugin, "order").await;
    let orders = orders.as_object().unwrap();
    assert_eq!(orders.len(), devices.len(), "one order list per device ref");
    for order in orders.values() {
        let order = order.as_array().unwrap();
        let device = &order[0]["device"];
        let numbers: Vec<u64> = order
            .iter()
            .map(|entry| {
                assert_eq!(&entry["device"], device, "a device ref maps to one device");
                entry["n"].as_u64().unwrap()
            })
            .collect();
        assert_eq!(numbers, (0..PER_DEVICE as u64).collect::<Vec<_>>(), "events of {device} out of order");
    }
}

/// A quarantined plugin's backlog stops at the bound: ingest goes on for everybody,
/// another plugin receives every event, and the stuck one, once resumed, receives
/// the newest events within the bound; what it passed over is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_plugin_backlog_is_bounded_and_never_turns_ingest_away() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = HostConfig::default();
    config.delivery.max_backlog = 20;
    config.delivery.backlog_check_interval = std::time::Duration::from_millis(20);
    config.delivery.quarantine_after = 1;
    let host = open_with(dir.path(), config).await;
    add_household(&host, "h1", &[("fridge-1", "fridge")]);
    let stuck = install_recorder(&host, None, None).await;
    let healthy = install_recorder(&host, Some("test.hearth.healthy"), None).await;
    for plugin in [&stuck, &healthy] {
        host.grant("h1", plugin, &grant_kinds(&["fridge"])).await.unwrap();
    }
    host.set_config(&stuck, "fail", "all").await.unwrap();
    host.ingest("fridge-1", &bytes(&fridge_json("stuck", "egg"))).await.unwrap();
    wait_until("the plugin is quarantined", || async { host.status(&stuck).unwrap().quarantined }).await;

    // The bound holds for every plugin: the healthy one is let keep up (on a loaded
    // machine a burst could put it past 20 behind too).
    for round in 0..20 {
        let batch: Vec<_> = (0..5).map(|n| fridge_json(&format!("b{round}-{n}"), "egg")).collect();
        host.ingest("fridge-1", &bytes(&json!(batch))).await.unwrap();
        wait_until("the healthy plugin keeps up", || async {
            host.kv_keys(&healthy, "seen/").unwrap().len() == 6 + 5 * round
        })
        .await;
    }
    wait_until("the stuck backlog is cut to the bound", || async { host.status(&stuck).unwrap().lag <= 20 }).await;
    let status = host.status(&stuck).unwrap();
    assert!(status.overflowing, "{status:?}");
    assert_eq!(status.backlog_skipped, 81, "{status:?}");

    host.set_config(&stuck, "fail", "none").await.unwrap();
    host.resume(&stuck).await.unwrap();
    wait_until("the backlog drains", || async { host.status(&stuck).unwrap().lag == 0 }).await;
    let seen = host.kv_keys(&stuck, "seen/").unwrap();
    assert_eq!(seen.len(), 20, "the newest 20 events: {seen:?}");
    assert!(seen.contains(&"seen/b19-4".to_owned()));
    assert!(!host.status(&stuck).unwrap().overflowing);
}

/// Removing a plugin removes everything kept for it: reinstalled under the same id it
/// starts afresh — not quarantined, no dead letters, no counters, no data — and its
/// component is gone from storage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_plugin_comes_back_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_retries();
    config.delivery.quarantine_after = 8;
    let host = open_with(dir.path(), config).await;
    add_household(&host, "h1", &[("fridge-1", "fridge")]);
    let plugin = install_recorder(&host, None, None).await;
    host.grant("h1", &plugin, &grant_kinds(&["fridge"])).await.unwrap();
    let poison = json!([event_json("poison-1", "ext.test.thing", json!({"poison": true})), fridge_json("ok", "egg")]);
    host.ingest("fridge-1", &bytes(&poison)).await.unwrap();
    wait_until("dead-lettered and delivered", || async {
        let status = host.status(&plugin).unwrap();
        status.dead_lettered == 1 && status.delivered == 1
    })
    .await;
    host.set_config(&plugin, "fail", "all").await.unwrap();
    let failing: Vec<_> = (0..8).map(|n| fridge_json(&format!("f{n}"), "milk")).collect();
    host.ingest("fridge-1", &bytes(&json!(failing))).await.unwrap();
    wait_until("the plugin is quarantined", || async { host.status(&plugin).unwrap().quarantined }).await;

    host.remove(&plugin).await.unwrap();
    let storage = host.storage();
    for bucket in ["components", "quarantine", "plugin-counters", "dead-letters", "plugins"] {
        let keys = storage.bucket(bucket).unwrap().keys(b"").unwrap();
        assert!(keys.is_empty(), "{bucket} keeps {} entries of the removed plugin", keys.len());
    }

    assert_eq!(host.grant_of("h1", &plugin).unwrap(), None, "consent does not carry over to a new install");
    let again = install_recorder(&host, None, None).await;
    assert_eq!(again, plugin);
    let status = host.status(&plugin).unwrap();
    assert!(!status.quarantined && status.quarantine.is_none(), "{status:?}");
    assert_eq!((status.delivered, status.failed, status.dead_lettered), (0, 0, 0));
    assert!(host.dead_letters(&plugin).unwrap().is_empty());
    assert!(host.kv_keys(&plugin, "").unwrap().is_empty());
    host.grant("h1", &plugin, &grant_kinds(&["fridge"])).await.unwrap();
    host.ingest("fridge-1", &bytes(&json!([fridge_json("fresh", "egg")]))).await.unwrap();
    wait_until("the new install is delivered to", || async { host.status(&plugin).unwrap().delivered == 1 }).await;
}
