//! `hearth serve` on a real loopback socket: install the example plugins, send events
//! as a device, read notifications as the household, confirm an offer, read the
//! statement as the partner, then stop it with SIGTERM.

use crate::server::*;
use serde_json::{Value, json};
use std::process::Command;

#[test]
fn serve_install_ingest_confirm_and_read_the_statement_over_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let operator = "hth_test_operator_token_0123456789";
    // These tests upload the example plugins unsigned; tests/registry.rs covers signed packages.
    let (child, port) = serve(dir.path(), operator, &["--dev-allow-unsigned-packages"]);

    install_files(
        port,
        operator,
        hearth_test_components::INGREDIENT_SHOP,
        hearth_test_components::INGREDIENT_SHOP_MANIFEST,
    );
    assert_eq!(json_call(port, "POST", "/v1/households", operator, json!({"id": "h1"})).0, 201);
    let fridge = json!({"id": "fridge-1", "household": "h1", "kind": "fridge", "model": "RF85", "region": "DE"});
    assert_eq!(json_call(port, "POST", "/v1/devices", operator, fridge).0, 201);
    let token = |role: &str, scope: &str| {
        let (status, body) = json_call(port, "POST", "/v1/tokens", operator, json!({"role": role, "scope": scope}));
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_owned()
    };
    let (device, user, partner) = (token("device", "fridge-1"), token("user", "h1"), token("partner", "freshcart"));
    let grant = json!({"device_kinds": ["fridge"], "devices": []});
    assert_eq!(json_call(port, "PUT", "/v1/me/grants/com.freshcart.ingredient-shop", &user, grant).0, 204);

    let low_milk = json!({"id": "m1", "topic": "appliance.fridge.inventory",
        "body": {"item": "whole milk", "action": "counted", "quantity": {"amount": 200, "unit": "millilitres"}}});
    let (status, body) = json_call(port, "POST", "/v1/events", &device, low_milk);
    assert_eq!(status, 202, "{body}");

    // The plugin proposes the offer, then notifies: one event, two writes, so wait for
    // both (reading the notifications as soon as the offer shows may be too early).
    let (mut offers, mut notifications) = (Value::Null, Value::Null);
    for _ in 0..500 {
        offers = json_call(port, "GET", "/v1/me/offers", &user, Value::Null).1;
        notifications = json_call(port, "GET", "/v1/me/notifications", &user, Value::Null).1;
        let listed = |body: &Value, field: &str| body[field].as_array().is_some_and(|list| !list.is_empty());
        if listed(&offers, "offers") && listed(&notifications, "notifications") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let offer = &offers["offers"][0];
    assert_eq!(offer["total_minor"], 129, "{offers}");
    assert_eq!(notifications["notifications"][0]["title"], "Restock whole milk?", "{notifications}");

    let path = format!("/v1/me/orders/{}/{}/confirm", offer["plugin"].as_str().unwrap(), offer["id"].as_str().unwrap());
    let (status, body) = json_call(port, "POST", &path, &user, Value::Null);
    assert_eq!(status, 200, "{body}");
    let month = hearth_host::commerce::ledger::month_of(hearth_host::clock::now_ms());
    let (status, statement) = json_call(port, "GET", &format!("/v1/partner/statements/{month}"), &partner, Value::Null);
    assert_eq!(status, 200);
    assert_eq!(
        statement["totals"]["EUR"],
        json!({"orders": 1, "gross_minor": 129, "publisher_minor": 91, "platform_minor": 38})
    );

    // SIGTERM: the server stops accepting, finishes, flushes and exits cleanly.
    stop(child);
}

#[test]
fn the_cli_manages_plugins_tokens_events_and_services() {
    let dir = tempfile::tempdir().unwrap();
    let operator = "hth_cli_operator_token_0123456789";
    // These tests upload the example plugins unsigned; tests/registry.rs covers signed packages.
    let (child, port) = serve(dir.path(), operator, &["--dev-allow-unsigned-packages"]);

    let installed = cli(
        port,
        operator,
        &[
            "plugin",
            "install",
            "--manifest",
            hearth_test_components::INGREDIENT_SHOP_MANIFEST,
            "--component",
            hearth_test_components::INGREDIENT_SHOP,
        ],
    );
    assert_eq!(installed.trim(), "installed com.freshcart.ingredient-shop 0.1.0");
    assert_eq!(cli(port, operator, &["households", "add", "h1"]).trim(), "registered household h1");
    let added = cli(port, operator, &["households", "add-device", "f1", "--household", "h1", "--kind", "fridge"]);
    assert_eq!(added.trim(), "registered fridge f1 in h1");
    let device = cli(port, operator, &["token", "create", "--role", "device", "--scope", "f1"]).trim().to_owned();
    let user = cli(port, operator, &["token", "create", "--role", "user", "--scope", "h1"]).trim().to_owned();
    assert!(device.starts_with("hth_") && user.starts_with("hth_"));
    assert_eq!(
        cli(port, &user, &["plugin", "grant", "com.freshcart.ingredient-shop", "--kinds", "fridge"]).trim(),
        "granted com.freshcart.ingredient-shop"
    );

    let events = dir.path().join("events.ndjson");
    let lines: Vec<String> = (0..3)
        .map(|n| {
            json!({"id": format!("cli-{n}"), "topic": "appliance.fridge.inventory",
            "body": {"item": "egg", "action": "counted", "quantity": {"amount": 10 - n, "unit": "pieces"}}})
            .to_string()
        })
        .collect();
    std::fs::write(&events, lines.join("\n")).unwrap();
    assert_eq!(
        cli(port, &device, &["events", "send", events.to_str().unwrap()]).trim(),
        "3 events accepted (0 already known)"
    );
    assert_eq!(
        cli(port, &device, &["events", "send", events.to_str().unwrap()]).trim(),
        "3 events accepted (3 already known)"
    );

    let quote = cli(
        port,
        &user,
        &[
            "services",
            "call",
            "shop",
            "quote",
            "--input",
            r#"{"items": [{"item": "butter", "amount": 300, "unit": "grams"}]}"#,
        ],
    );
    let quote: Value = serde_json::from_str(&quote).unwrap();
    assert_eq!(quote["total_minor"], 498, "two packs of butter");

    // The household's own view: its devices, and the shop's offer when milk runs low.
    let devices = cli(port, &user, &["households", "devices"]);
    assert!(devices.lines().nth(1).is_some_and(|row| row.starts_with("f1") && row.contains("fridge")), "{devices}");
    let low_milk = dir.path().join("low-milk.json");
    let milk = json!({"id": "cli-milk", "topic": "appliance.fridge.inventory",
        "body": {"item": "whole milk", "action": "counted", "quantity": {"amount": 200, "unit": "millilitres"}}});
    std::fs::write(&low_milk, milk.to_string()).unwrap();
    cli(port, &device, &["events", "send", low_milk.to_str().unwrap()]);
    let mut offers = String::new();
    poll("the offer is listed", || {
        offers = cli(port, &user, &["households", "offers"]);
        offers.lines().count() == 2
    });
    let offer: Vec<&str> = offers.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(offer[0], "com.freshcart.ingredient-shop", "{offers}");
    let confirmed = cli(port, &user, &["households", "confirm", offer[0], offer[1]]);
    assert!(
        confirmed.starts_with(&format!("confirmed {} from com.freshcart.ingredient-shop: ", offer[1])),
        "{confirmed}"
    );
    assert_eq!(cli(port, &user, &["households", "offers"]).lines().count(), 1, "answered offers leave the list");
    let notifications = cli(port, &user, &["households", "notifications"]);
    assert!(notifications.lines().next().unwrap().starts_with("PLUGIN"), "{notifications}");

    let table = cli(port, operator, &["plugin", "list"]);
    let mut rows = table.lines();
    assert!(rows.next().unwrap().starts_with("PLUGIN"));
    let row = rows.next().unwrap();
    assert!(row.starts_with("com.freshcart.ingredient-shop") && row.ends_with("running"), "{table}");
    cli(port, operator, &["plugin", "disable", "com.freshcart.ingredient-shop"]);
    assert!(cli(port, operator, &["plugin", "list"]).lines().nth(1).unwrap().ends_with("disabled"));
    cli(port, operator, &["plugin", "enable", "com.freshcart.ingredient-shop"]);

    // Dead letters: a plugin that traps on an event; listed for the operator and the
    // publisher, shown whole, redriven (and failing again).
    cli(
        port,
        operator,
        &[
            "plugin",
            "install",
            "--manifest",
            hearth_test_components::HOSTILE_PLUGIN_MANIFEST,
            "--component",
            hearth_test_components::HOSTILE_PLUGIN,
        ],
    );
    cli(port, &user, &["plugin", "grant", "test.hearth.hostile", "--kinds", "fridge"]);
    let trap = dir.path().join("trap.json");
    std::fs::write(&trap, json!({"id": "cli-trap", "topic": "ext.hostile.trap", "body": {}}).to_string()).unwrap();
    cli(port, &device, &["events", "send", trap.to_str().unwrap()]);
    let mut letters = String::new();
    poll("the trap is dead-lettered", || {
        letters = cli(port, operator, &["dead-letters", "list", "test.hearth.hostile"]);
        letters.lines().count() == 2
    });
    let letter: Vec<&str> = letters.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!((letter[1], letter[2], letter[3]), ("cli-trap", "ext.hostile.trap", "5"), "{letters}");
    let publisher = cli(port, operator, &["token", "create", "--role", "partner", "--scope", "test"]).trim().to_owned();
    assert_eq!(
        cli(port, &publisher, &["dead-letters", "list", "test.hearth.hostile"]),
        letters,
        "the publisher's view"
    );
    let shown: Value =
        serde_json::from_str(&cli(port, operator, &["dead-letters", "show", "test.hearth.hostile", letter[0]]))
            .unwrap();
    assert_eq!(
        (shown["event"]["id"].as_str(), shown["event"]["topic"].as_str()),
        (Some("cli-trap"), Some("ext.hostile.trap"))
    );
    assert!(shown["error"].as_str().unwrap().contains("unreachable"), "{shown}");
    let redriven = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["--server", &format!("http://127.0.0.1:{port}"), "--token", operator])
        .args(["dead-letters", "redrive", "test.hearth.hostile", "--all"])
        .output()
        .unwrap();
    assert!(!redriven.status.success(), "it traps again");
    let said = String::from_utf8_lossy(&redriven.stderr);
    assert!(said.contains("1 of 1 failed again and stay dead letters"), "{said}");
    assert_eq!(cli(port, operator, &["dead-letters", "list", "test.hearth.hostile"]).lines().count(), 2, "still there");

    // Errors come back with the API's code, and a non-zero exit.
    let refused = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["--server", &format!("http://127.0.0.1:{port}"), "--token", &user, "plugin", "list"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("403 forbidden"));

    let audit = json_call(port, "GET", "/v1/audit", operator, Value::Null).1;
    assert!(audit["entries"].as_array().unwrap().iter().any(|entry| entry["action"] == "token.create"), "{audit}");
    stop(child);
}
