//! The recipe plugin end to end: events in, kv state, `recipes.suggest` out, and a
//! restart that keeps state and skips compilation.

use crate::plugins::{Build, install_example};
use crate::support::*;
use hearth_host::CallError;
use hearth_host::bindings::{Caller, PluginError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fridge_events_become_ranked_recipe_suggestions() {
    suggestions_case(Build::Latest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recipe_service_built_against_0_1_still_suggests() {
    suggestions_case(Build::V0_1).await;
}

async fn suggestions_case(build: Build) {
    let dir = tempfile::tempdir().unwrap();
    let host = open(dir.path()).await;
    install_example(&host, build, "recipe-service").await;
    stock_breakfast_fridge(&host, "household-a").await;

    let answer = suggest(&host, "household-a").await;
    // The omelette uses the spinach that expires tomorrow, so it ranks first.
    assert_eq!(ids(&answer["ready"]), ["spinach-feta-omelette", "pancakes"]);
    assert_eq!(answer["ready"][0]["uses_expiring"], serde_json::json!(["spinach"]));
    let french_toast = answer["near_misses"].as_array().unwrap().iter().find(|r| r["id"] == "french-toast").unwrap();
    assert_eq!(french_toast["missing"], serde_json::json!([{ "item": "bread", "amount": 4, "unit": "pieces" }]));

    // Another household's fridge is its own.
    household_with_fridge(&host, "household-b").await;
    let other = suggest(&host, "household-b").await;
    assert_eq!(ids(&other["ready"]), Vec::<String>::new());

    // A resent event (same id) is stored and applied once: 6 eggs, then 2 taken out.
    let fridge = "fridge-household-a";
    let resent = host
        .ingest(fridge, &bytes(&inventory_json("household-a-e1", "egg", "added", 6, "pieces", Some(10))))
        .await
        .unwrap();
    assert!(resent[0].duplicate);
    let events = vec![
        inventory_json("taken", "egg", "removed", 2, "pieces", None),
        inventory_json("e6", "zucchini", "added", 1, "pieces", None),
        inventory_json("e7", "onion", "added", 1, "pieces", None),
    ];
    send_and_wait(&host, RECIPES, fridge, events).await;
    let answer = suggest(&host, "household-a").await;
    let frittata = answer["near_misses"].as_array().unwrap().iter().find(|r| r["id"] == "zucchini-frittata").unwrap();
    // Had the redelivery counted, 10 eggs would leave only the parmesan missing.
    assert_eq!(
        frittata["missing"],
        serde_json::json!([
            { "item": "egg", "amount": 2, "unit": "pieces" },
            { "item": "parmesan", "amount": 30, "unit": "grams" },
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_errors_are_results_not_failures() {
    let dir = tempfile::tempdir().unwrap();
    let host = open(dir.path()).await;
    install_recipe_service(&host).await;
    household_with_fridge(&host, "h").await;

    let no_household = host.call_service("recipes", "suggest", Caller::Operator, None, Vec::new()).await;
    assert!(
        matches!(no_household, Err(CallError::Plugin(PluginError::InvalidInput(ref m))) if m.contains("needs a household")),
        "{no_household:?}"
    );

    let bad_json = host
        .call_service("recipes", "suggest", Caller::Household("h".into()), Some("h".into()), b"{not json".to_vec())
        .await;
    assert!(matches!(bad_json, Err(CallError::Plugin(PluginError::InvalidInput(_)))), "{bad_json:?}");

    let unknown = host.call_service("recipes", "teleport", Caller::Operator, None, Vec::new()).await;
    assert_eq!(unknown, Err(CallError::NoProvider("recipes.teleport".into())));

    // A household that has not granted the provider access cannot be served by it.
    add_household(&host, "stranger", &[]);
    let stranger = host
        .call_service("recipes", "suggest", Caller::Household("stranger".into()), Some("stranger".into()), Vec::new())
        .await;
    assert!(matches!(stranger, Err(CallError::NoProvider(ref m)) if m.contains("consent")), "{stranger:?}");

    // A plugin error leaves the instance healthy.
    assert!(suggest(&host, "h").await["ready"].is_array());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_plugins_and_state_without_recompiling() {
    let dir = tempfile::tempdir().unwrap();
    let host = open(dir.path()).await;
    install_recipe_service(&host).await;
    stock_breakfast_fridge(&host, "household-a").await;
    let before = suggest(&host, "household-a").await;
    let stats = host.stats();
    assert_eq!((stats.compiles, stats.artifact_cache_hits), (1, 0));
    host.shutdown().await.unwrap();

    let host = open(dir.path()).await;
    let stats = host.stats();
    assert_eq!(stats.plugins, 1);
    assert_eq!((stats.compiles, stats.artifact_cache_hits), (0, 1), "the restart must load the cached artifact");
    assert_eq!(suggest(&host, "household-a").await, before, "kv state survives the restart");

    // Installing the same bytes again is also a cache hit.
    install_recipe_service(&host).await;
    assert_eq!(host.stats().compiles, 0);
    assert_eq!(host.stats().artifact_cache_hits, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasing_a_household_removes_its_data_from_every_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let host = open(dir.path()).await;
    install_recipe_service(&host).await;
    stock_breakfast_fridge(&host, "household-a").await;
    stock_breakfast_fridge(&host, "household-b").await;
    assert_eq!(ids(&suggest(&host, "household-a").await["ready"]).len(), 2);

    let erased = host.erase_household("household-a").await.unwrap();
    assert_eq!(erased.kv_entries, 2, "its inventory and its last suggestion");
    assert!(host.grant_of("household-a", RECIPES).unwrap().is_none(), "consent is withdrawn");
    assert!(host.devices_of("household-a").unwrap().is_empty(), "its devices are gone");
    // Registered again under the same id, it starts from nothing.
    host.add_household("household-a").unwrap();
    host.grant("household-a", RECIPES, &grant_kinds(&["fridge"])).await.unwrap();
    assert!(ids(&suggest(&host, "household-a").await["ready"]).is_empty(), "nothing of it is left");
    assert_eq!(ids(&suggest(&host, "household-b").await["ready"]).len(), 2, "other households keep theirs");
}
