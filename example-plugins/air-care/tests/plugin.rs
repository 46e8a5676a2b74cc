//! The air-care plugin in a real host, through the SDK's test harness.

#![allow(clippy::unwrap_used)]

use hearth_testing::{TestHost, events};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooling_below_26_is_raised_to_26_and_the_household_told() {
    let mut host = TestHost::new().await.unwrap();
    host.install_crate(env!("CARGO_MANIFEST_DIR")).await.unwrap();
    host.add_device("ac-1", "air-conditioner").await.unwrap();

    let telemetry = events::air_telemetry(28.5, 55.0, "good").with_field("cooling_setpoint_centi_celsius", 2200);
    host.send("ac-1", telemetry.clone()).await.unwrap();

    let commands = host.take_commands("ac-1").unwrap();
    assert_eq!(commands.len(), 1, "{commands:?}");
    assert_eq!(commands[0].command, "set-temperature");
    assert_eq!(commands[0].argument, Some(serde_json::json!(2600)));
    let notifications = host.notifications().unwrap();
    assert_eq!(notifications.len(), 1);
    assert_eq!(notifications[0].title, "Cooling set to 26 °C");

    // The same advice is not repeated on the same day.
    host.send("ac-1", telemetry).await.unwrap();
    assert!(host.take_commands("ac-1").unwrap().is_empty());
    assert_eq!(host.notifications().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_efficient_setpoint_changes_nothing() {
    let mut host = TestHost::new().await.unwrap();
    host.install_crate(env!("CARGO_MANIFEST_DIR")).await.unwrap();
    host.add_device("ac-1", "air-conditioner").await.unwrap();
    let telemetry = events::air_telemetry(27.0, 50.0, "good").with_field("cooling_setpoint_centi_celsius", 2600);
    host.send("ac-1", telemetry).await.unwrap();
    assert!(host.take_commands("ac-1").unwrap().is_empty());
    assert!(host.notifications().unwrap().is_empty());
}
