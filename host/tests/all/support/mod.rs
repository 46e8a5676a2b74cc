//! Shared helpers of the host's integration tests: real components, a real sled
//! database in a temp dir.

#![allow(dead_code)] // the CLI's tests use a subset
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use hearth_host::bindings::{Caller, Date};
use hearth_host::{Host, HostConfig};
use hearth_package::Manifest;
use std::path::Path;

pub fn manifest(path: &str) -> Manifest {
    std::fs::read_to_string(path).unwrap().parse().unwrap()
}

pub async fn open(dir: &Path) -> Host {
    Host::open(dir, HostConfig::default()).await.unwrap()
}

pub async fn install_recipe_service(host: &Host) {
    let manifest = manifest(hearth_test_components::RECIPE_SERVICE_MANIFEST);
    host.install(manifest, hearth_test_components::read(hearth_test_components::RECIPE_SERVICE)).await.unwrap();
}

pub async fn install_hostile(host: &Host) {
    let manifest = manifest(hearth_test_components::HOSTILE_PLUGIN_MANIFEST);
    host.install(manifest, hearth_test_components::read(hearth_test_components::HOSTILE_PLUGIN)).await.unwrap();
}

pub const RECIPES: &str = "com.example.recipe-service";

/// A fridge inventory event as a fridge sends it; `best_before_in_days` is relative
/// to today (UTC).
pub fn inventory_json(
    id: &str,
    item: &str,
    action: &str,
    amount: u32,
    unit: &str,
    best_before_in_days: Option<i64>,
) -> serde_json::Value {
    let mut body = serde_json::json!({"item": item, "action": action, "quantity": {"amount": amount, "unit": unit}});
    if let Some(days) = best_before_in_days {
        let date = date_in(days);
        body["best_before"] = format!("{:04}-{:02}-{:02}", date.year, date.month, date.day).into();
    }
    serde_json::json!({"id": id, "topic": "appliance.fridge.inventory", "body": body})
}

/// Registers `household` with a fridge `fridge-<household>` and grants the recipe
/// service access to fridges.
pub async fn household_with_fridge(host: &Host, household: &str) -> String {
    let fridge = format!("fridge-{household}");
    add_household(host, household, &[(&fridge, "fridge")]);
    host.grant(household, RECIPES, &grant_kinds(&["fridge"])).await.unwrap();
    fridge
}

/// Sends events from a device and waits until `plugin` has handled them all.
pub async fn send_and_wait(host: &Host, plugin: &str, device: &str, events: Vec<serde_json::Value>) {
    let before = host.status(plugin).unwrap().delivered;
    let receipts = host.ingest(device, &bytes(&serde_json::json!(events))).await.unwrap();
    let fresh = receipts.iter().filter(|receipt| !receipt.duplicate).count() as u64;
    wait_until("the events are delivered", || async { host.status(plugin).unwrap().delivered >= before + fresh }).await;
}

pub fn now_ms() -> u64 {
    hearth_host::clock::now_ms()
}

/// The UTC calendar date `days` from today.
pub fn date_in(days: i64) -> Date {
    hearth_host::clock::date_in_days(days)
}

/// The ids of the `ready` and `near_misses` lists of a `recipes.suggest` answer.
pub async fn suggest(host: &Host, household: &str) -> serde_json::Value {
    let response = host
        .call_service("recipes", "suggest", Caller::Household(household.into()), Some(household.into()), b"{}".to_vec())
        .await
        .unwrap();
    serde_json::from_slice(&response.output).unwrap()
}

pub fn ids(list: &serde_json::Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

/// Stocks a fridge so exactly the spinach omelette and pancakes can be made.
pub async fn stock_breakfast_fridge(host: &Host, household: &str) {
    let fridge = household_with_fridge(host, household).await;
    let events = vec![
        inventory_json(&format!("{household}-e1"), "egg", "added", 6, "pieces", Some(10)),
        inventory_json(&format!("{household}-e2"), "spinach", "added", 100, "grams", Some(1)),
        inventory_json(&format!("{household}-e3"), "feta", "added", 200, "grams", Some(20)),
        inventory_json(&format!("{household}-e4"), "whole milk", "added", 1000, "millilitres", Some(6)),
        inventory_json(&format!("{household}-e5"), "butter", "added", 250, "grams", None),
    ];
    send_and_wait(host, RECIPES, &fridge, events).await;
}

pub const RECORDER: &str = "test.hearth.recorder";

pub async fn open_with(dir: &Path, config: HostConfig) -> Host {
    Host::open(dir, config).await.unwrap()
}

/// A config for delivery tests: quick retries.
pub fn fast_retries() -> HostConfig {
    let mut config = HostConfig::default();
    config.delivery.backoff_base = std::time::Duration::from_millis(2);
    config.delivery.backoff_max = std::time::Duration::from_millis(20);
    config
}

/// Installs the recorder fixture, optionally under another id (to have two plugins).
pub async fn install_recorder(host: &Host, id: Option<&str>, concurrency: Option<u32>) -> String {
    let mut manifest = manifest(hearth_test_components::RECORDER_PLUGIN_MANIFEST);
    if let Some(id) = id {
        manifest.plugin.id = id.to_owned();
    }
    manifest.limits.concurrency = concurrency;
    let id = manifest.plugin.id.clone();
    host.install(manifest, hearth_test_components::read(hearth_test_components::RECORDER_PLUGIN)).await.unwrap();
    id
}

/// Household `household` with one device of each listed (id, kind).
pub fn add_household(host: &Host, household: &str, devices: &[(&str, &str)]) {
    host.add_household(household).unwrap();
    for (id, kind) in devices {
        host.add_device(hearth_host::households::Device {
            id: (*id).into(),
            household: household.into(),
            kind: (*kind).into(),
            model: "test-model".into(),
            region: "DE".into(),
        })
        .unwrap();
    }
}

pub fn grant_kinds(kinds: &[&str]) -> hearth_host::households::Grant {
    hearth_host::households::Grant {
        device_kinds: kinds.iter().map(|kind| (*kind).to_owned()).collect(),
        ..Default::default()
    }
}

/// Calls one of the recorder's operations and decodes the JSON answer.
pub async fn recorder(host: &Host, plugin: &str, operation: &str) -> serde_json::Value {
    let request = hearth_host::bindings::ServiceRequest {
        service: "recorder".into(),
        operation: operation.into(),
        caller: Caller::Operator,
        household: None,
        input: Vec::new(),
    };
    let response = host.call_plugin(plugin, request).await.unwrap();
    serde_json::from_slice(&response.output).unwrap()
}

/// Polls `check` until it holds; fails the test after 30 s. Delivery is asynchronous.
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

pub fn fridge_json(id: &str, item: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "topic": "appliance.fridge.inventory",
        "body": {"item": item, "action": "added", "quantity": {"amount": 1, "unit": "pieces"}}
    })
}

pub fn event_json(id: &str, topic: &str, body: serde_json::Value) -> serde_json::Value {
    serde_json::json!({ "id": id, "topic": topic, "body": body })
}

pub fn bytes(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}
