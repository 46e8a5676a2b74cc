//! The recipe service in a real host, through the SDK's test harness.

#![allow(clippy::unwrap_used)]

use hearth_testing::{TestHost, events};

fn ids(list: &serde_json::Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|recipe| recipe["id"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggests_what_the_fridge_can_make() {
    let mut host = TestHost::new().await.unwrap();
    host.install_crate(env!("CARGO_MANIFEST_DIR")).await.unwrap();
    host.add_device("fridge-1", "fridge").await.unwrap();
    assert!(ids(&host.call("recipes", "suggest", serde_json::json!({})).await.unwrap()["ready"]).is_empty());

    host.send(
        "fridge-1",
        vec![
            events::fridge_inventory("egg", "added", 6, "pieces"),
            events::fridge_inventory("spinach", "added", 100, "grams"),
            events::fridge_inventory("feta", "added", 200, "grams"),
            events::fridge_inventory("whole milk", "added", 1000, "millilitres"),
            events::fridge_inventory("butter", "added", 250, "grams"),
        ],
    )
    .await
    .unwrap();
    let suggestion = host.call("recipes", "suggest", serde_json::json!({})).await.unwrap();
    let ready = ids(&suggestion["ready"]);
    assert!(ready.contains(&"spinach-feta-omelette") && ready.contains(&"pancakes"), "{suggestion}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_operations_are_plugin_errors() {
    let mut host = TestHost::new().await.unwrap();
    host.install_crate(env!("CARGO_MANIFEST_DIR")).await.unwrap();
    let error = host.call("recipes", "teleport", serde_json::json!({})).await.unwrap_err();
    assert!(error.to_string().contains("recipes.teleport"), "{error}");
}
