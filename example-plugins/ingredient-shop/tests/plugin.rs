//! The ingredient shop in a real host, through the SDK's test harness.

#![allow(clippy::unwrap_used)]

use hearth_testing::{TestHost, events};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_low_on_a_staple_proposes_a_restock_once() {
    let mut host = TestHost::new().await.unwrap();
    let shop = host.install_crate(env!("CARGO_MANIFEST_DIR")).await.unwrap();
    host.add_device("fridge-1", "fridge").await.unwrap();

    host.send("fridge-1", events::fridge_inventory("egg", "counted", 10, "pieces")).await.unwrap();
    assert!(host.offers().unwrap().is_empty(), "ten eggs are plenty");
    host.send("fridge-1", events::fridge_inventory("egg", "removed", 8, "pieces")).await.unwrap();

    let offers = host.offers().unwrap();
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(offers[0].plugin, shop);
    assert!(offers[0].total_minor > 0);
    let notifications = host.notifications().unwrap();
    assert_eq!(notifications.len(), 1);
    assert_eq!(notifications[0].category, "offer");
    assert!(host.household_kv(&shop, "stock").unwrap().is_some(), "the stock is kept per household");

    host.send("fridge-1", events::fridge_inventory("egg", "removed", 1, "pieces")).await.unwrap();
    assert_eq!(host.offers().unwrap().len(), 1, "one offer per item a day");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_are_served_to_households() {
    let mut host = TestHost::new().await.unwrap();
    host.install_crate(env!("CARGO_MANIFEST_DIR")).await.unwrap();
    let wanted = serde_json::json!({"items": [
        {"item": "egg", "amount": 12, "unit": "pieces"},
        {"item": "saffron", "amount": 1, "unit": "grams"},
    ]});
    let quote = host.call("shop", "quote", wanted).await.unwrap();
    assert_eq!(quote["lines"][0]["sku"], "FC-EGG-10");
    assert_eq!(quote["lines"][0]["packs"], 2, "12 eggs are two packs of 10");
    assert_eq!(quote["total_minor"], 2 * 389);
    assert_eq!(quote["unavailable"], serde_json::json!(["saffron"]));
}
