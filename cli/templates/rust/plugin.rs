//! The plugin in a real host: `hearth plugin test` (or `cargo test --release`).

use hearth_testing::{TestHost, events};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_fridge_openings_per_household() -> Result<(), hearth_testing::TestError> {
    let mut host = TestHost::new().await?;
    host.install_crate(env!("CARGO_MANIFEST_DIR")).await?;
    host.add_device("fridge-1", "fridge").await?;

    host.send("fridge-1", vec![events::fridge_door("open"), events::fridge_door("closed"), events::fridge_door("open")])
        .await?;

    let stats = host.call("{{name}}", "stats", serde_json::json!({})).await?;
    assert_eq!(stats["fridge_opens"], 2);
    Ok(())
}
