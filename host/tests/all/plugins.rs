//! The example plugins, each through a real host: the cases the demo's happy path
//! does not show. Each case runs twice: with today's build (WIT 0.2) and with the
//! binaries built against WIT 0.1, which must keep installing and reacting.

use crate::support::*;
use hearth_host::Host;
use hearth_host::bindings::Caller;
use hearth_host::households::{Device, Grant};
use serde_json::{Value, json};

const SHOP: &str = "com.freshcart.ingredient-shop";
const WATER: &str = "com.clearflow.water-filter";
const AIR: &str = "com.breeze.air-care";

/// Which build of an example plugin.
#[derive(Debug, Clone, Copy)]
pub enum Build {
    /// Built from the workspace, against the newest WIT.
    Latest,
    /// The frozen binary built against WIT 0.1, with the manifest it shipped with.
    V0_1,
}

/// Installs one of the example plugins (`ingredient-shop`, …) as built by `build`.
pub async fn install_example(host: &Host, build: Build, name: &str) {
    use hearth_test_components as built;
    let (wasm, manifest_path) = match (build, name) {
        (Build::Latest, "ingredient-shop") => (built::INGREDIENT_SHOP, built::INGREDIENT_SHOP_MANIFEST),
        (Build::Latest, "water-filter") => (built::WATER_FILTER, built::WATER_FILTER_MANIFEST),
        (Build::Latest, "air-care") => (built::AIR_CARE, built::AIR_CARE_MANIFEST),
        (Build::Latest, "recipe-service") => (built::RECIPE_SERVICE, built::RECIPE_SERVICE_MANIFEST),
        (Build::V0_1, "ingredient-shop") => (built::V0_1_INGREDIENT_SHOP, built::V0_1_INGREDIENT_SHOP_MANIFEST),
        (Build::V0_1, "water-filter") => (built::V0_1_WATER_FILTER, built::V0_1_WATER_FILTER_MANIFEST),
        (Build::V0_1, "air-care") => (built::V0_1_AIR_CARE, built::V0_1_AIR_CARE_MANIFEST),
        (Build::V0_1, "recipe-service") => (built::V0_1_RECIPE_SERVICE, built::V0_1_RECIPE_SERVICE_MANIFEST),
        _ => panic!("no example plugin {name}"),
    };
    let manifest = manifest(manifest_path);
    let api = match build {
        Build::Latest => hearth_package::api_version!(),
        Build::V0_1 => "0.1",
    };
    assert_eq!(manifest.plugin.api, api, "{name} {build:?}");
    host.install(manifest, built::read(wasm)).await.unwrap();
}

async fn home(host: &Host, region: &str, plugin: &str, kind: &str, device: &str, control: bool) {
    host.add_household("home").unwrap();
    host.add_device(Device {
        id: device.into(),
        household: "home".into(),
        kind: kind.into(),
        model: "m".into(),
        region: region.into(),
    })
    .unwrap();
    let grant = Grant { device_kinds: [kind.to_owned()].into(), control, ..Grant::default() };
    host.grant("home", plugin, &grant).await.unwrap();
}

async fn call(host: &Host, service: &str, operation: &str, input: Value) -> Value {
    let response = host
        .call_service(service, operation, Caller::Household("home".into()), Some("home".into()), bytes(&input))
        .await
        .unwrap();
    serde_json::from_slice(&response.output).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shop_offers_a_low_staple_once_a_day_and_prices_baskets() {
    shop_case(Build::Latest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shop_built_against_0_1_still_offers_and_prices() {
    shop_case(Build::V0_1).await;
}

async fn shop_case(build: Build) {
    let dir = tempfile::tempdir().unwrap();
    let host = open(dir.path()).await;
    install_example(&host, build, "ingredient-shop").await;
    home(&host, "DE", SHOP, "fridge", "fridge", false).await;

    send_and_wait(&host, SHOP, "fridge", vec![inventory_json("b1", "butter", "counted", 250, "grams", None)]).await;
    assert!(host.offers("home").unwrap().is_empty(), "enough butter");
    send_and_wait(&host, SHOP, "fridge", vec![inventory_json("b2", "butter", "removed", 200, "grams", None)]).await;
    send_and_wait(&host, SHOP, "fridge", vec![inventory_json("b3", "butter", "removed", 20, "grams", None)]).await;
    let offers = host.offers("home").unwrap();
    assert_eq!(offers.len(), 1, "one offer a day, however often it runs low");
    assert_eq!(
        (offers[0].items[0].sku.as_str(), offers[0].total_minor, offers[0].currency.as_str()),
        ("FC-BUT-250", 249, "EUR")
    );
    assert_eq!(host.notifications("home").unwrap().len(), 1);
    send_and_wait(&host, SHOP, "fridge", vec![inventory_json("t1", "truffle", "counted", 1, "grams", None)]).await;
    assert_eq!(host.offers("home").unwrap().len(), 1, "not a staple");

    let quote = call(
        &host,
        "shop",
        "quote",
        json!({"items": [
        {"item": "egg", "amount": 12, "unit": "pieces"}, {"item": "caviar", "amount": 50, "unit": "grams"}]}),
    )
    .await;
    assert_eq!(quote["total_minor"], 778);
    assert_eq!(quote["unavailable"], json!(["caviar"]));
    let bad = host
        .call_service(
            "shop",
            "quote",
            Caller::Household("home".into()),
            Some("home".into()),
            b"{\"items\": 3}".to_vec(),
        )
        .await;
    assert!(
        matches!(bad, Err(hearth_host::CallError::Plugin(hearth_host::bindings::PluginError::InvalidInput(_)))),
        "{bad:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_water_filter_follows_the_region_and_ignores_healthy_readings() {
    water_case(Build::Latest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_water_filter_built_against_0_1_still_follows_the_region() {
    water_case(Build::V0_1).await;
}

async fn water_case(build: Build) {
    let dir = tempfile::tempdir().unwrap();
    let host = open(dir.path()).await;
    install_example(&host, build, "water-filter").await;
    home(&host, "DE", WATER, "water-purifier", "purifier", false).await;
    let telemetry = |id: &str, tds_out: u32, carbon: u8| {
        event_json(
            id,
            "appliance.water-purifier.telemetry",
            json!({"tds_in_ppm": 400, "tds_out_ppm": tds_out, "litres_total": 900,
            "filters": [{"name": "carbon", "condition_percent": carbon, "change_indication": "ok"}]}),
        )
    };
    send_and_wait(&host, WATER, "purifier", vec![telemetry("t1", 20, 70)]).await;
    assert!(host.offers("home").unwrap().is_empty());
    let advice = call(&host, "water", "filter-advice", json!({})).await;
    assert_eq!((advice["rejection_percent"].as_u64(), &advice["recommendation"]), (Some(95), &Value::Null));

    // 400 → 120 ppm is a 70 % rejection rate: below 75 %.
    send_and_wait(&host, WATER, "purifier", vec![telemetry("t2", 120, 70)]).await;
    let offers = host.offers("home").unwrap();
    assert_eq!(offers.len(), 1);
    assert_eq!((offers[0].currency.as_str(), offers[0].total_minor), ("EUR", 3_990));
    assert!(offers[0].items[0].name.contains("hard, calcium-rich water"));
    assert!(
        call(&host, "water", "filter-advice", json!({})).await["recommendation"]
            .as_str()
            .unwrap()
            .contains("only 70 %")
    );

    let fault = event_json("f1", "appliance.water-purifier.fault", json!({"kind": "tds-anomaly", "detail": "E-TDS"}));
    send_and_wait(&host, WATER, "purifier", vec![fault]).await;
    let urgent = host.notifications("home").unwrap().into_iter().find(|n| n.category == "urgent").unwrap();
    assert!(urgent.body.contains("unusual dissolved solids"));
    assert_eq!(urgent.action.unwrap().operation, "water.book-visit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn air_care_only_advises_without_control_and_says_it_once_a_day() {
    air_case(Build::Latest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn air_care_built_against_0_1_still_advises() {
    air_case(Build::V0_1).await;
}

async fn air_case(build: Build) {
    let dir = tempfile::tempdir().unwrap();
    let host = open(dir.path()).await;
    install_example(&host, build, "air-care").await;
    home(&host, "KR", AIR, "air-conditioner", "aircon", false).await;
    let reading = |id: &str, setpoint: i32| {
        event_json(
            id,
            "appliance.air.telemetry",
            json!({"temperature_centi_celsius": 2800, "humidity_centi_percent": 5000,
            "air_quality": "good", "filter_condition_percent": 80, "cooling_setpoint_centi_celsius": setpoint}),
        )
    };
    send_and_wait(&host, AIR, "aircon", vec![reading("r1", 2600)]).await;
    assert!(host.notifications("home").unwrap().is_empty(), "26 °C is already efficient");
    send_and_wait(&host, AIR, "aircon", vec![reading("r2", 2400), reading("r3", 2300)]).await;
    let notifications = host.notifications("home").unwrap();
    assert_eq!(notifications.len(), 1, "once a day");
    assert_eq!(notifications[0].title, "Save energy at 26 °C");
    assert!(notifications[0].body.contains("14 %"), "{}", notifications[0].body);
    assert!(host.take_commands("aircon").unwrap().is_empty(), "no control consent, no command");
    let advice = call(&host, "air", "advice", json!({})).await;
    assert!(advice.to_string().contains("advised 26 °C (was 24.0 °C)"), "{advice}");
}
