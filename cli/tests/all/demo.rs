//! `hearth demo` end to end: the scripted day runs through the real binary, the four
//! example plugins and an embedded host, and its key effects show in the timeline.

#[test]
fn the_scripted_day_shows_every_kind_of_action_and_reconciled_statements() {
    let plugins = std::path::Path::new(hearth_test_components::RECIPE_SERVICE).parent().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["demo", "--plugins"])
        .arg(plugins)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));

    let expected = [
        "→ ingredient-shop  offer   Restock whole milk?",
        "→ ingredient-shop  order   1 × Free-range eggs, 10 = 3.89 EUR",
        "← booked 1.29 EUR: freshcart 0.91 EUR, platform 0.38 EUR",
        "→ water-filter     alert   Time for a new water filter: Your purifier says the carbon filter is at 8 %.",
        "ClearFlow carbon filter for soft, low-mineral water = 39000 KRW",
        "← 1. Spinach and feta omelette (10 min), uses the spinach before it expires",
        "← 1 × Sourdough loaf, 10 slices = 3.49 EUR",
        "→ air-care         command set-temperature 26.0 °C (fetched by the air conditioner)",
        "→ recipe-service   info    How did it turn out?",
        "← ratings: {\"spinach-feta-omelette\":5}",
        "→ water-filter     urgent  Water purifier needs attention",
        "→ water-filter     order   1 × Technician visit = 30000 KRW",
        "freshcart  2 order(s), gross 5.18 EUR, publisher 3.64 EUR, platform 1.54 EUR",
        "clearflow  2 order(s), gross 69000 KRW, publisher 55200 KRW, platform 13800 KRW",
    ];
    for line in expected {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    // Expired milk is not cooked with: pancakes are not ready.
    assert!(!stdout.contains("Pancakes"), "{stdout}");
    // Plugins see refs; real ids never reach them, so none can show up in what they wrote.
    for line in stdout.lines().filter(|line| line.contains('→')) {
        assert!(!line.contains("kim-"), "{line}");
    }
}

#[test]
fn json_logs_carry_a_span_per_plugin_call() {
    let plugins = std::path::Path::new(hearth_test_components::RECIPE_SERVICE).parent().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["--log-json", "demo", "--plugins"])
        .arg(plugins)
        .env("RUST_LOG", "hearth_host::runtime::worker=debug")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    let calls: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .filter(|entry| entry["fields"]["message"] == "plugin call")
        .collect();
    assert!(calls.len() > 10, "{stderr}");
    let event_call = calls.iter().find(|c| c["span"]["kind"] == "event").expect("an event call");
    assert!(
        event_call["span"]["plugin"].is_string()
            && event_call["span"]["topic"].is_string()
            && event_call["span"]["event"].is_string()
    );
    assert_eq!(event_call["fields"]["outcome"], "ok");
    assert!(event_call["fields"]["elapsed"].is_string());
    assert!(calls.iter().any(|c| c["span"]["operation"] == "recipes.suggest"));
}

/// `hearth demo --cluster` (what `cargo xtask cluster` runs): real NATS nodes and
/// `hearth serve --nats` hosts, one SIGKILLed half way; it reports the takeover and
/// that every plugin caught up with nothing dead-lettered.
#[test]
fn the_cluster_demo_shows_a_takeover_and_nothing_left_behind() {
    let _cluster = crate::one_heavy_test_at_a_time();
    let plugins = std::path::Path::new(hearth_test_components::RECIPE_SERVICE).parent().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["demo", "--cluster", "--plugins"])
        .arg(plugins)
        .arg("--nats-server")
        .arg(crate::nats_cluster::nats_server())
        .env("RUST_LOG", "error")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    for expected in ["Half way: SIGKILL host-2", "takeover after", "0 events left behind, 0 dead-lettered"] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    let members = stdout.lines().filter(|line| line.starts_with("  cluster:")).collect::<Vec<_>>();
    assert!(members.len() == 2 && members[0].matches("delivers").count() == 3, "{stdout}");
    assert_eq!(members[1].matches("delivers").count(), 2, "{stdout}");
}
