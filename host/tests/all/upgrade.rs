//! Upgrading a plugin while events stream in: the new version takes over the
//! consumers' cursors, the old one drains, a rollback goes back the same way, and no
//! accepted event goes undelivered.

use crate::support::*;

const EVENTS: usize = 3_000;
const BATCH: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_and_a_rollback_under_a_steady_stream_lose_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let host = open(dir.path()).await;
    install_recorder(&host, None, Some(2)).await;
    add_household(&host, "h1", &[("fridge-1", "fridge"), ("fridge-2", "fridge")]);
    host.grant("h1", RECORDER, &grant_kinds(&["fridge"])).await.unwrap();

    let sender = tokio::spawn({
        let host = host.clone();
        async move {
            for batch in 0..EVENTS / BATCH {
                let events: Vec<serde_json::Value> = (0..BATCH)
                    .map(|n| inventory_json(&format!("e-{}", batch * BATCH + n), "egg", "counted", 6, "pieces", None))
                    .collect();
                let device = if batch % 2 == 0 { "fridge-1" } else { "fridge-2" };
                host.ingest(device, &bytes(&serde_json::json!(events))).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
    });
    let seen = || host.kv_keys(RECORDER, "seen/").unwrap().len();
    let component = hearth_test_components::read(hearth_test_components::RECORDER_PLUGIN);
    let mut next = manifest(hearth_test_components::RECORDER_PLUGIN_MANIFEST);
    next.plugin.version = semver_of("0.2.0");
    next.limits.concurrency = Some(2);

    wait_until("the first events are delivered", || async { seen() >= 300 }).await;
    let upgraded = host.install(next.clone(), component.clone()).await.unwrap();
    assert_eq!(upgraded.manifest.plugin.version.to_string(), "0.2.0");
    assert_eq!(host.previous_version(RECORDER).unwrap().as_deref(), Some("0.1.0"));

    wait_until("more events are delivered", || async { seen() >= 1_200 }).await;
    let rolled_back = host.rollback(RECORDER).await.unwrap();
    assert_eq!(rolled_back.manifest.plugin.version.to_string(), "0.1.0");
    assert_eq!(host.previous_version(RECORDER).unwrap().as_deref(), Some("0.2.0"), "roll forward is possible");

    wait_until("still more events are delivered", || async { seen() >= 2_000 }).await;
    host.install(next, component).await.unwrap();

    sender.await.unwrap();
    wait_until("every event is delivered", || async { host.lag().unwrap() == 0 }).await;
    let keys = host.kv_keys(RECORDER, "seen/").unwrap();
    let missing: Vec<usize> = (0..EVENTS).filter(|n| !keys.contains(&format!("seen/e-{n}"))).take(10).collect();
    assert!(missing.is_empty(), "events never delivered: {missing:?}");
    assert_eq!(keys.len(), EVENTS);
    let deliveries: u64 = keys
        .iter()
        .map(|key| serde_json::from_slice::<u64>(&host.kv_get(RECORDER, key).unwrap().unwrap()).unwrap())
        .sum();
    eprintln!("{EVENTS} events over three hand-overs: {} duplicate deliveries", deliveries - EVENTS as u64);
    assert_eq!(host.plugins()[0].manifest.plugin.version.to_string(), "0.2.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_keeps_the_operators_grants_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let host = open(dir.path()).await;
    install_recipe_service(&host).await;
    let err = host.rollback(RECIPES).await.unwrap_err();
    assert!(err.to_string().contains("no previous version"), "{err}");

    let granted = manifest(hearth_test_components::RECIPE_SERVICE_MANIFEST).capabilities;
    host.set_grants(RECIPES, granted).await.unwrap();
    host.set_limits(RECIPES, hearth_package::RequestedLimits { memory_mb: Some(16), ..Default::default() })
        .await
        .unwrap();

    let mut next = manifest(hearth_test_components::RECIPE_SERVICE_MANIFEST);
    next.plugin.version = semver_of("0.2.0");
    next.capabilities.commerce = true;
    let upgraded =
        host.install(next, hearth_test_components::read(hearth_test_components::RECIPE_SERVICE)).await.unwrap();
    assert!(upgraded.manifest.capabilities.kv && upgraded.manifest.capabilities.notify);
    assert!(!upgraded.manifest.capabilities.commerce, "what the operator granted explicitly does not grow by itself");
    assert_eq!(upgraded.limits.memory_bytes, 16 << 20, "the operator's limit stays");
    stock_breakfast_fridge(&host, "h").await;
    assert_eq!(ids(&suggest(&host, "h").await["ready"]).len(), 2, "the upgraded version serves");
}

fn semver_of(text: &str) -> semver::Version {
    text.parse().unwrap()
}
