//! The water-filter plugin in a real host, through the SDK's test harness.

#![allow(clippy::unwrap_used)]

use hearth_testing::{TestHost, events};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worn_filter_gets_a_regional_offer_and_a_leak_an_urgent_notice() {
    let mut host = TestHost::new().await.unwrap();
    host.install_crate(env!("CARGO_MANIFEST_DIR")).await.unwrap();
    host.add_device("purifier-1", "water-purifier").await.unwrap();

    host.send("purifier-1", events::purifier_telemetry(180, 12, "ro", 80, "ok")).await.unwrap();
    assert!(host.offers().unwrap().is_empty(), "a healthy filter needs nothing");

    host.send("purifier-1", events::purifier_telemetry(180, 12, "ro", 3, "critical")).await.unwrap();
    let offers = host.offers().unwrap();
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(offers[0].currency, "EUR", "the test device is in DE");
    assert_eq!(offers[0].items[0].sku, "CF-DE-SCALE-RO", "a filter for hard water");

    host.send("purifier-1", events::purifier_fault("leak", "under the sink")).await.unwrap();
    let urgent: Vec<_> = host.notifications().unwrap().into_iter().filter(|n| n.category == "urgent").collect();
    assert_eq!(urgent.len(), 1);
    assert_eq!(urgent[0].action.as_ref().unwrap().operation, "water.book-visit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_households_with_worn_filters_get_an_offer_each() {
    // Order ids are unique per plugin, not per household: the same filter wearing out
    // the same day in two homes must still be two orders.
    let mut host = TestHost::new().await.unwrap();
    host.install_crate(env!("CARGO_MANIFEST_DIR")).await.unwrap();
    host.add_household("household-2").await.unwrap();
    host.add_device("purifier-1", "water-purifier").await.unwrap();
    host.add_device_to("household-2", "purifier-2", "water-purifier").await.unwrap();

    for device in ["purifier-1", "purifier-2"] {
        host.send(device, events::purifier_telemetry(180, 12, "ro", 3, "critical")).await.unwrap();
    }
    let (first, second) = (host.offers().unwrap(), host.offers_to("household-2").unwrap());
    assert_eq!((first.len(), second.len()), (1, 1), "{first:?} {second:?}");
    assert_ne!(first[0].id, second[0].id);
    assert_eq!(second[0].household, "household-2");
    assert!(host.dead_letters("com.clearflow.water-filter").unwrap().is_empty());
}
