//! The promises of docs/SECURITY.md attacked from outside: a real `hearth serve` on
//! loopback driven over HTTP by tenants that fight over the same ids, a household
//! that asks to be forgotten, and the server's data directory read byte by byte
//! afterwards.

use crate::server::*;
use serde_json::{Value, json};

const OPERATOR: &str = "hth_attack_operator_token_0123456789";
const SHOP: &str = "com.freshcart.ingredient-shop";
const RECIPES: &str = "com.example.recipe-service";

fn low_milk(id: &str) -> Value {
    json!({"id": id, "topic": "appliance.fridge.inventory",
        "body": {"item": "whole milk", "action": "counted", "quantity": {"amount": 200, "unit": "millilitres"}}})
}

fn delivered(port: u16, plugin: &str) -> u64 {
    let (status, body) = json_call(port, "GET", &format!("/v1/plugins/{plugin}"), OPERATOR, Value::Null);
    assert_eq!(status, 200, "{body}");
    body["status"]["delivered"].as_u64().unwrap()
}

fn first_offer(port: u16, user: &str) -> Value {
    let mut offer = Value::Null;
    poll("an offer arrives", || {
        offer = json_call(port, "GET", "/v1/me/offers", user, Value::Null).1["offers"][0].clone();
        !offer.is_null()
    });
    offer
}

/// Household B's device reuses A's event id and forges the id of the host's
/// order-confirmed notice for A's order: B's event is stored (not reported as a
/// duplicate), the answer says nothing of A, and A's order notice still reaches
/// the plugin.
#[test]
fn a_device_cannot_suppress_or_probe_another_households_events() {
    let dir = tempfile::tempdir().unwrap();
    let (server, port) = serve(dir.path(), OPERATOR, &["--dev-allow-unsigned-packages"]);
    install_files(
        port,
        OPERATOR,
        hearth_test_components::INGREDIENT_SHOP,
        hearth_test_components::INGREDIENT_SHOP_MANIFEST,
    );
    register(port, OPERATOR, "house-a", &[("fridge-a", "fridge")]);
    register(port, OPERATOR, "house-b", &[("fridge-b", "fridge")]);
    let (fridge_a, fridge_b) =
        (token(port, OPERATOR, "device", "fridge-a"), token(port, OPERATOR, "device", "fridge-b"));
    let (user_a, user_b) = (token(port, OPERATOR, "user", "house-a"), token(port, OPERATOR, "user", "house-b"));
    for user in [&user_a, &user_b] {
        let grant = json!({"device_kinds": ["fridge"], "devices": []});
        assert_eq!(json_call(port, "PUT", &format!("/v1/me/grants/{SHOP}"), user, grant).0, 204);
    }

    let (status, answer) = json_call(port, "POST", "/v1/events", &fridge_a, low_milk("milk-1"));
    assert_eq!(status, 202, "{answer}");
    let offer = first_offer(port, &user_a);

    // B uses A's id: stored as B's own event, and the receipt carries no position.
    let (status, answer) = json_call(port, "POST", "/v1/events", &fridge_b, low_milk("milk-1"));
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["receipts"], json!([{"id": "milk-1", "duplicate": false}]), "{answer}");
    first_offer(port, &user_b);
    // Resent by B, it is B's duplicate, still without a position.
    let (_, answer) = json_call(port, "POST", "/v1/events", &fridge_b, low_milk("milk-1"));
    assert_eq!(answer["receipts"], json!([{"id": "milk-1", "duplicate": true}]), "{answer}");

    // B forges the id of the notice A's confirmation will produce.
    let order = offer["id"].as_str().unwrap();
    let forged = json!({"id": format!("order-confirmed:{SHOP}/{order}"), "topic": "ext.forged.notice", "body": {}});
    let (status, answer) = json_call(port, "POST", "/v1/events", &fridge_b, forged);
    assert_eq!((status, &answer["receipts"][0]["duplicate"]), (202, &json!(false)), "{answer}");

    let before = delivered(port, SHOP);
    let (status, body) =
        json_call(port, "POST", &format!("/v1/me/orders/{SHOP}/{order}/confirm"), &user_a, Value::Null);
    assert_eq!(status, 200, "{body}");
    poll("the plugin hears of A's confirmed order", || delivered(port, SHOP) == before + 1);
    stop(server);
}

/// Every id-bearing value of a sled database, as (tree, key, value) text.
fn stored_entries(db: &std::path::Path) -> Vec<(String, String, String)> {
    let db = sled::open(db).unwrap();
    let mut entries = Vec::new();
    for name in db.tree_names() {
        let tree = db.open_tree(&name).unwrap();
        for entry in tree.iter() {
            let (key, value) = entry.unwrap();
            entries.push((
                String::from_utf8_lossy(&name).into_owned(),
                String::from_utf8_lossy(&key).into_owned(),
                String::from_utf8_lossy(&value).into_owned(),
            ));
        }
    }
    entries
}

/// A household with data in a running plugin and in a disabled one, a confirmed
/// order, a pending offer, notifications, a queued command and events still in the
/// log asks to be erased; afterwards no tree of the database holds its id, its
/// devices' ids or (outside the pseudonymous notices that tell plugins) its refs,
/// the other household is untouched and the ledger still counts the order.
#[test]
fn erasing_a_household_leaves_nothing_of_it_in_any_store() {
    let dir = tempfile::tempdir().unwrap();
    let (server, port) = serve(dir.path(), OPERATOR, &["--dev-allow-unsigned-packages"]);
    for (wasm, manifest) in [
        (hearth_test_components::INGREDIENT_SHOP, hearth_test_components::INGREDIENT_SHOP_MANIFEST),
        (hearth_test_components::RECIPE_SERVICE, hearth_test_components::RECIPE_SERVICE_MANIFEST),
    ] {
        install_files(port, OPERATOR, wasm, manifest);
    }
    register(port, OPERATOR, "erase-me-household", &[("erase-me-fridge", "fridge")]);
    register(port, OPERATOR, "keep-me-household", &[("keep-me-fridge", "fridge")]);
    let fridge = token(port, OPERATOR, "device", "erase-me-fridge");
    let user = token(port, OPERATOR, "user", "erase-me-household");
    let (other_fridge, other_user) =
        (token(port, OPERATOR, "device", "keep-me-fridge"), token(port, OPERATOR, "user", "keep-me-household"));
    let partner = token(port, OPERATOR, "partner", "freshcart");
    for household in [&user, &other_user] {
        for plugin in [SHOP, RECIPES] {
            let grant = json!({"device_kinds": ["fridge"], "devices": [], "control": true});
            assert_eq!(json_call(port, "PUT", &format!("/v1/me/grants/{plugin}"), household, grant).0, 204);
        }
    }
    for (device, household) in [(&fridge, &user), (&other_fridge, &other_user)] {
        assert_eq!(json_call(port, "POST", "/v1/events", device, low_milk("milk-1")).0, 202);
        let offer = first_offer(port, household);
        let path = format!("/v1/me/orders/{SHOP}/{}/confirm", offer["id"].as_str().unwrap());
        assert_eq!(json_call(port, "POST", &path, household, Value::Null).0, 200);
    }
    // A second item: a pending offer. Then the shop is disabled with its data kept,
    // and more events wait in the log for it.
    let butter = json!({"id": "butter-1", "topic": "appliance.fridge.inventory",
        "body": {"item": "butter", "action": "counted", "quantity": {"amount": 10, "unit": "grams"}}});
    assert_eq!(json_call(port, "POST", "/v1/events", &fridge, butter).0, 202);
    poll("a second offer", || {
        json_call(port, "GET", "/v1/me/offers", &user, Value::Null).1["offers"]
            .as_array()
            .is_some_and(|o| !o.is_empty())
    });
    assert_eq!(json_call(port, "POST", &format!("/v1/plugins/{SHOP}/disable"), OPERATOR, Value::Null).0, 200);
    let waiting = json!([low_milk("milk-2"), {"id": "egg-1", "topic": "appliance.fridge.inventory",
        "body": {"item": "egg", "action": "added", "quantity": {"amount": 6, "unit": "pieces"}}}]);
    assert_eq!(json_call(port, "POST", "/v1/events", &fridge, waiting.clone()).0, 202);
    assert_eq!(json_call(port, "POST", "/v1/events", &other_fridge, waiting).0, 202);
    let month = hearth_host::commerce::ledger::month_of(hearth_host::clock::now_ms());
    let statement = |port| json_call(port, "GET", &format!("/v1/partner/statements/{month}"), &partner, Value::Null).1;
    let before = statement(port)["totals"].clone();

    let (status, erased) = json_call(port, "DELETE", "/v1/me", &user, Value::Null);
    assert_eq!(status, 200, "{erased}");
    assert!(
        erased["erased"]["kv_entries"].as_u64().unwrap() >= 2,
        "the shop's stock and the recipes' inventory: {erased}"
    );
    assert_eq!(erased["erased"]["devices"], 1, "{erased}");
    assert_eq!(erased["erased"]["plugins_told"], 2, "{erased}");
    // Its token went with it.
    assert_eq!(json_call(port, "GET", "/v1/me/offers", &user, Value::Null).0, 401);
    assert_eq!(json_call(port, "POST", "/v1/events", &fridge, low_milk("milk-3")).0, 401);
    assert_eq!(statement(port)["totals"], before, "confirmed orders stay in the ledger");
    assert_eq!(json_call(port, "POST", &format!("/v1/plugins/{SHOP}/enable"), OPERATOR, Value::Null).0, 200);
    assert!(json_call(port, "GET", "/v1/me/offers", &other_user, Value::Null).1["offers"].is_array());
    stop(server);

    let forgotten = ["erase-me-household", "erase-me-fridge"];
    for (tree, key, value) in stored_entries(&dir.path().join("db")) {
        for id in forgotten {
            assert!(!key.contains(id) && !value.contains(id), "{id} is left in tree {tree}: {key} = {value}");
        }
    }
    let entries = stored_entries(&dir.path().join("db"));
    assert!(
        entries.iter().any(|(_, key, value)| key.contains("keep-me-household") || value.contains("keep-me-household"))
    );

    // No plugin keeps data under its ref of the household; the other keeps its own.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let host = hearth_host::Host::open(dir.path(), hearth_host::HostConfig::default()).await.unwrap();
        for plugin in [SHOP, RECIPES] {
            let erased = host.household_ref(plugin, "erase-me-household").unwrap();
            assert!(host.kv_keys(plugin, &format!("{erased}/")).unwrap().is_empty(), "{plugin} keeps data");
            let kept = host.household_ref(plugin, "keep-me-household").unwrap();
            assert!(!host.kv_keys(plugin, &format!("{kept}/")).unwrap().is_empty(), "{plugin} lost the other's data");
        }
        host.shutdown().await.unwrap();
    });
}

/// The memory hog over HTTP (a component with six extra memories of 16 MiB each,
/// four lanes under a 64 MiB limit): its calls fail, and the server's resident
/// memory does not grow by what the memories would hold (4 × 96 MiB).
#[test]
fn a_component_with_many_memories_cannot_pass_the_plugin_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (server, port) = serve(dir.path(), OPERATOR, &["--dev-allow-unsigned-packages"]);
    let manifest = std::fs::read_to_string(hearth_test_components::RECORDER_PLUGIN_MANIFEST)
        .unwrap()
        .replace("test.hearth.recorder", "test.hearth.memory-hog")
        + "\n[limits]\nmemory_mb = 64\nconcurrency = 4\n";
    install_unsigned(port, OPERATOR, hearth_test_components::MEMORY_HOG, &manifest);
    register(port, OPERATOR, "house-hog", &[]);
    let user = token(port, OPERATOR, "user", "house-hog");
    let grant = json!({"device_kinds": [], "devices": []});
    assert_eq!(json_call(port, "PUT", "/v1/me/grants/test.hearth.memory-hog", &user, grant).0, 204);
    let before = server.rss_bytes();
    for _ in 0..8 {
        let (status, body) = json_call(port, "POST", "/v1/services/recorder/seen", &user, json!({}));
        assert_eq!(status, 502, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("memory limit"), "{body}");
    }
    let grown = server.rss_bytes().saturating_sub(before);
    eprintln!("memory hog: server RSS grew by {} MiB over 8 calls on 4 lanes", grown >> 20);
    assert!(grown < 64 << 20, "the server grew by {} MiB", grown >> 20);
    stop(server);
}

fn plugin_status(port: u16, plugin: &str) -> Value {
    let (status, body) = json_call(port, "GET", &format!("/v1/plugins/{plugin}"), OPERATOR, Value::Null);
    assert_eq!(status, 200, "{body}");
    body["status"].clone()
}

/// Household A keeps calling an operation whose slow path times out. A is suspended
/// from the plugin; household B's calls and events are served all along, and the
/// status tells the operator what happened. Failures spread over three households
/// do quarantine the plugin, with the reason in its status.
#[test]
fn one_household_cannot_quarantine_a_plugin_for_everybody() {
    const HOSTILE: &str = "test.hearth.hostile";
    let dir = tempfile::tempdir().unwrap();
    let (server, port) = serve(dir.path(), OPERATOR, &["--dev-allow-unsigned-packages"]);
    let manifest = std::fs::read_to_string(hearth_test_components::HOSTILE_PLUGIN_MANIFEST)
        .unwrap()
        .replace("memory_mb = 16", "memory_mb = 16\nservice_timeout_ms = 50");
    install_unsigned(port, OPERATOR, hearth_test_components::HOSTILE_PLUGIN, &manifest);
    let mut users = Vec::new();
    for house in ["a", "b", "c", "d", "e"] {
        register(port, OPERATOR, &format!("house-{house}"), &[(&format!("sensor-{house}"), "fridge")]);
        let user = token(port, OPERATOR, "user", &format!("house-{house}"));
        let grant = json!({"device_kinds": ["fridge"], "devices": []});
        assert_eq!(json_call(port, "PUT", &format!("/v1/me/grants/{HOSTILE}"), &user, grant).0, 204);
        users.push(user);
    }
    let sensor_b = token(port, OPERATOR, "device", "sensor-b");
    let call = |user: &str, operation: &str| {
        json_call(port, "POST", &format!("/v1/services/hostile/{operation}"), user, json!({}))
    };

    let mut answers = Vec::new();
    for _ in 0..15 {
        answers.push(call(&users[0], "loop").0);
    }
    assert_eq!(&answers[..10], &[504; 10], "{answers:?}");
    assert_eq!(&answers[10..], &[503; 5], "A is suspended: {answers:?}");
    let (status, body) = call(&users[0], "ok");
    assert_eq!((status, &body["error"]["code"]), (503, &json!("suspended")), "{body}");

    assert_eq!(call(&users[1], "ok").0, 200, "B is served");
    let event = json!({"id": "b-1", "topic": "ext.hostile.ok", "body": {}});
    let delivered_before = plugin_status(port, HOSTILE)["delivered"].as_u64().unwrap();
    assert_eq!(json_call(port, "POST", "/v1/events", &sensor_b, event).0, 202);
    poll("B's event is delivered", || plugin_status(port, HOSTILE)["delivered"].as_u64().unwrap() > delivered_before);
    let status = plugin_status(port, HOSTILE);
    assert_eq!(status["quarantined"], false, "{status}");
    assert_eq!((&status["calls_failed"], &status["callers_suspended"]), (&json!(10), &json!(1)), "{status}");

    // Three households fail in turn: that is the plugin, not one caller.
    for round in 0..4 {
        for user in &users[2..] {
            let expected = if round * 3 < 10 { 504 } else { 503 };
            let (status, body) = call(user, "loop");
            assert!(status == expected || status == 503, "round {round}: {status} {body}");
        }
    }
    let status = plugin_status(port, HOSTILE);
    assert_eq!(status["quarantined"], true, "{status}");
    let quarantine = &status["quarantine"];
    assert_eq!((&quarantine["cause"], &quarantine["callers"]), (&json!("service-calls"), &json!(3)), "{status}");
    assert!(quarantine["last_errors"][0].as_str().unwrap().contains("timed out"), "{status}");
    assert_eq!(call(&users[1], "ok").0, 503, "quarantined for everybody now");
    assert_eq!(json_call(port, "POST", &format!("/v1/plugins/{HOSTILE}/resume"), OPERATOR, Value::Null).0, 200);
    assert_eq!(call(&users[1], "ok").0, 200);
    stop(server);
}

/// One raw HTTP/1.1 exchange; returns status, content type and body text.
fn raw(port: u16, request: &[u8]) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(request).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let content_type = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-type: ").map(str::to_owned))
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    [head.as_bytes(), body].concat()
}

/// Asserts the one error shape and returns the code.
fn error_code(answer: &(u16, String, String)) -> String {
    let (status, content_type, body) = answer;
    assert!(content_type.starts_with("application/json"), "{status} {content_type}: {body}");
    let body: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{status}: {body}"));
    assert!(body["error"]["message"].is_string(), "{body}");
    body["error"]["code"].as_str().unwrap().to_owned()
}

/// Errors raised anywhere (body limit, path parsing, the router) have the API's one
/// shape; JSON routes want JSON; months, schemes, scopes, keys and sizes are checked
/// with documented limits; messages never echo a huge input; `/metrics` can be kept
/// off the API listener.
#[test]
fn every_error_has_one_shape_and_every_input_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let metrics_address = format!("127.0.0.1:{metrics_port}");
    let (server, port) = serve(dir.path(), OPERATOR, &["--metrics-listen", &metrics_address]);
    register(port, OPERATOR, "house-x", &[("fridge-x", "fridge")]);
    let device = token(port, OPERATOR, "device", "fridge-x");
    let partner = token(port, OPERATOR, "partner", "freshcart");
    let bearer = |token: &str| format!("Bearer {token}");
    let (device_auth, partner_auth, operator_auth) = (bearer(&device), bearer(&partner), bearer(OPERATOR));
    let json_type = ("content-type", "application/json");

    // 2 MiB of events: over the 1 MiB body limit.
    let big = vec![b' '; 2 << 20];
    let answer = raw(port, &request("POST", "/v1/events", &[("authorization", &device_auth), json_type], &big));
    assert_eq!((answer.0, error_code(&answer).as_str()), (413, "body_too_large"));
    // A sequence number that is not one.
    let path = "/v1/plugins/com.example.x/dead-letters/abc/redrive";
    let answer = raw(port, &request("POST", path, &[("authorization", &operator_auth)], b""));
    assert_eq!((answer.0, error_code(&answer).as_str()), (400, "bad_request"));
    // A method the route does not have.
    let answer = raw(port, &request("PATCH", "/v1/events", &[("authorization", &device_auth)], b""));
    assert_eq!((answer.0, error_code(&answer).as_str()), (405, "method_not_allowed"));
    // JSON routes want JSON.
    let event = br#"{"id": "e1", "topic": "ext.test.x", "body": {}}"#;
    for headers in [
        vec![("authorization", device_auth.as_str())],
        vec![("authorization", &device_auth), ("content-type", "text/plain")],
    ] {
        let answer = raw(port, &request("POST", "/v1/events", &headers, event));
        assert_eq!((answer.0, error_code(&answer).as_str()), (415, "unsupported_media_type"));
    }
    // The scheme is case-insensitive.
    let lower = format!("bearer {device}");
    let answer = raw(port, &request("POST", "/v1/events", &[("authorization", &lower), json_type], event));
    assert_eq!(answer.0, 202, "{answer:?}");
    // Months.
    for month in ["2026-13", "0000-00", "2026-1", "20261-01"] {
        let answer = raw(
            port,
            &request("GET", &format!("/v1/partner/statements/{month}"), &[("authorization", &partner_auth)], b""),
        );
        assert_eq!((answer.0, error_code(&answer).as_str()), (400, "bad_request"), "{month}");
    }
    let answer = raw(port, &request("GET", "/v1/partner/statements/2026-12", &[("authorization", &partner_auth)], b""));
    assert_eq!(answer.0, 200);
    // A 32 KB id is not echoed back. (Past 64 KiB, hyper itself answers 414.)
    let long = "x".repeat(32 << 10);
    let answer = raw(port, &request("GET", &format!("/v1/plugins/{long}"), &[("authorization", &operator_auth)], b""));
    assert_eq!((answer.0, error_code(&answer).as_str()), (404, "not_found"));
    assert!(answer.2.len() < 1024, "{} bytes", answer.2.len());
    // Tokens only for what exists.
    for (role, scope) in [("user", "no-such-house"), ("device", "../../x\u{0}"), ("partner", "Not A Publisher")] {
        let (status, body) = json_call(port, "POST", "/v1/tokens", OPERATOR, json!({"role": role, "scope": scope}));
        assert_eq!((status, &body["error"]["code"]), (422, &json!("invalid")), "{role} {scope:?}: {body}");
    }
    // Keys, values and records with limits.
    let oversized = [
        json_call(
            port,
            "POST",
            "/v1/devices",
            OPERATOR,
            json!({"id": "fridge-y", "household": "house-x", "kind": "fridge", "model": "m".repeat(500 << 10), "region": "DE"}),
        ),
        json_call(port, "PUT", "/v1/agreements/Bad%00Name", OPERATOR, json!({"publisher_bp": 7000})),
    ];
    for (status, body) in oversized {
        assert_eq!((status, &body["error"]["code"]), (422, &json!("invalid")), "{body}");
        assert!(body.to_string().len() < 1024, "{} bytes", body.to_string().len());
    }
    // /metrics is on the private listener only.
    let answer = raw(port, &request("GET", "/metrics", &[], b""));
    assert_eq!((answer.0, error_code(&answer).as_str()), (404, "not_found"));
    let answer = raw(metrics_port, &request("GET", "/metrics", &[], b""));
    assert!(answer.0 == 200 && answer.2.contains("hearth_plugins"), "{answer:?}");
    stop(server);
}

/// Config keys and values of a running plugin have limits too.
#[test]
fn config_keys_and_values_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (server, port) = serve(dir.path(), OPERATOR, &["--dev-allow-unsigned-packages"]);
    install_files(
        port,
        OPERATOR,
        hearth_test_components::RECORDER_PLUGIN,
        hearth_test_components::RECORDER_PLUGIN_MANIFEST,
    );
    let set = |key: &str, value: &str| {
        json_call(
            port,
            "PUT",
            &format!("/v1/plugins/test.hearth.recorder/config/{key}"),
            OPERATOR,
            json!({"value": value}),
        )
    };
    assert_eq!(set("cure", "yes").0, 204);
    for (key, value) in
        [("a%00b", "x".to_owned()), (&"k".repeat(8 << 10), "x".to_owned()), ("big", "v".repeat(900 << 10))]
    {
        let (status, body) = set(key, &value);
        assert_eq!((status, &body["error"]["code"]), (422, &json!("invalid")), "{body}");
    }
    stop(server);
}

/// A disabled plugin's backlog stops at the bound (`--max-backlog 50`): devices keep
/// being answered 202, the other plugin receives everything, and the stuck one,
/// enabled again, gets the newest 50 and reports what it passed over.
#[test]
fn a_stuck_plugin_never_turns_ingest_away_for_others() {
    let dir = tempfile::tempdir().unwrap();
    let (server, port) = serve(dir.path(), OPERATOR, &["--dev-allow-unsigned-packages", "--max-backlog", "50"]);
    let recorder = std::fs::read_to_string(hearth_test_components::RECORDER_PLUGIN_MANIFEST).unwrap();
    install_unsigned(port, OPERATOR, hearth_test_components::RECORDER_PLUGIN, &recorder);
    let stuck = recorder.replace("test.hearth.recorder", "test.hearth.stuck");
    install_unsigned(port, OPERATOR, hearth_test_components::RECORDER_PLUGIN, &stuck);
    register(port, OPERATOR, "house-a", &[("fridge-a", "fridge")]);
    register(port, OPERATOR, "house-b", &[("fridge-b", "fridge")]);
    let user_a = token(port, OPERATOR, "user", "house-a");
    let user_b = token(port, OPERATOR, "user", "house-b");
    let grant = json!({"device_kinds": ["fridge"], "devices": []});
    for plugin in ["test.hearth.recorder", "test.hearth.stuck"] {
        assert_eq!(json_call(port, "PUT", &format!("/v1/me/grants/{plugin}"), &user_a, grant.clone()).0, 204);
    }
    assert_eq!(json_call(port, "PUT", "/v1/me/grants/test.hearth.recorder", &user_b, grant).0, 204);
    assert_eq!(json_call(port, "POST", "/v1/plugins/test.hearth.stuck/disable", OPERATOR, Value::Null).0, 200);

    // B (who never granted the stuck plugin) first, so the newest 50 are A's.
    for (device, house) in [("fridge-b", "b"), ("fridge-a", "a")] {
        let token = token(port, OPERATOR, "device", device);
        for batch in 0..15 {
            let events: Vec<Value> = (0..10)
                .map(|n| json!({"id": format!("{house}-{batch}-{n}"), "topic": "ext.test.load", "body": {}}))
                .collect();
            let (status, body) = json_call(port, "POST", "/v1/events", &token, json!(events));
            assert_eq!(status, 202, "{body}");
            // The bound holds for the healthy plugin too: let it keep up.
            let sent = if house == "b" { 10 * (batch + 1) } else { 150 + 10 * (batch + 1) };
            poll("the healthy plugin keeps up", || delivered(port, "test.hearth.recorder") == sent);
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(1_500)); // one backlog check
    assert_eq!(json_call(port, "POST", "/v1/plugins/test.hearth.stuck/enable", OPERATOR, Value::Null).0, 200);
    poll("the stuck plugin catches up", || plugin_status(port, "test.hearth.stuck")["lag"] == 0);
    let status = plugin_status(port, "test.hearth.stuck");
    assert_eq!((&status["delivered"], &status["backlog_skipped"]), (&json!(50), &json!(250)), "{status}");
    assert_eq!(status["overflowing"], false, "{status}");
    stop(server);
}

/// A plugin asks for a denied URL with a 60 KB path for 400 ms: thousands of
/// denials, but the host's log lines about it stay within the plugin's budget
/// (500 at once, 100/s) and each is short.
#[test]
fn host_log_lines_a_plugin_causes_are_budgeted_and_cut() {
    let dir = tempfile::tempdir().unwrap();
    let (server, port, lines) = serve_capturing_logs(dir.path(), OPERATOR, Some("warn"));
    install_files(port, OPERATOR, hearth_test_components::PROBE_PLUGIN, hearth_test_components::PROBE_PLUGIN_MANIFEST);
    register(port, OPERATOR, "house-p", &[]);
    let user = token(port, OPERATOR, "user", "house-p");
    let grant = json!({"device_kinds": [], "devices": []});
    assert_eq!(json_call(port, "PUT", "/v1/me/grants/test.hearth.probe", &user, grant).0, 204);
    let url = format!("http://denied.example/{}", "p".repeat(60 << 10));
    let (status, answer) = json_call(port, "POST", "/v1/services/probe/fetch-flood", &user, json!({"url": url}));
    assert_eq!(status, 200, "{answer}");
    let denied = answer["ok"]["denied"].as_u64().unwrap();
    stop(server);
    let lines: Vec<String> =
        lines.join().unwrap().into_iter().filter(|line| line.contains("test.hearth.probe")).collect();
    let longest = lines.iter().map(String::len).max().unwrap_or(0);
    eprintln!("log flood: {denied} denied requests, {} log lines, longest {longest} bytes", lines.len());
    assert!(denied > 1_000, "the flood was too small to tell: {denied}");
    assert!(lines.len() <= 500 + 100 + 5, "{} lines", lines.len());
    assert!(longest < 1_024, "a line of {longest} bytes");
}

/// An oven sends what a careless integration would: whole degrees, Fahrenheit, a
/// fridge's topic, seconds for milliseconds. Each is refused (422, nothing stored)
/// with the likely mistake named; the corrected event is accepted.
#[test]
fn implausible_values_and_the_wrong_appliance_are_refused_with_the_likely_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let (server, port) = serve(dir.path(), OPERATOR, &[]);
    register(port, OPERATOR, "house-o", &[("oven-o", "oven")]);
    let oven = token(port, OPERATOR, "device", "oven-o");
    let state = |setpoint: i64| json!({"topic": "appliance.oven.state", "body": {"state": "running", "mode": "bake", "setpoint_centi_celsius": setpoint}});
    let seconds = hearth_host::clock::now_ms() / 1000;
    let cases = [
        (state(180), "180 °C is 18000"),
        (state(35_600), "356 °F, send 18000"),
        (
            json!({"topic": "appliance.fridge.door", "body": {"state": "open"}}),
            "appliance.fridge.door comes from fridge devices",
        ),
        (
            json!({"topic": "appliance.oven.state", "time_ms": seconds, "body": {"state": "stopped", "mode": "bake"}}),
            "looks like seconds",
        ),
    ];
    for (event, hint) in cases {
        let (status, body) = json_call(port, "POST", "/v1/events", &oven, event.clone());
        assert_eq!(status, 422, "{event}: {body}");
        let reason = body["error"]["events"][0]["reason"].as_str().unwrap();
        assert!(reason.contains(hint), "{event}: {reason}");
    }
    assert_eq!(json_call(port, "POST", "/v1/events", &oven, state(18_000)).0, 202);
    stop(server);
}

/// Delivery counters are the plugin's history, not the process's: they survive a
/// restart of the server and an upgrade to a new version.
#[test]
fn delivery_counters_survive_restarts_and_upgrades() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = std::fs::read_to_string(hearth_test_components::RECORDER_PLUGIN_MANIFEST).unwrap();
    let (server, port) = serve(dir.path(), OPERATOR, &["--dev-allow-unsigned-packages"]);
    install_unsigned(port, OPERATOR, hearth_test_components::RECORDER_PLUGIN, &recorder);
    register(port, OPERATOR, "house-c", &[("fridge-c", "fridge")]);
    let user = token(port, OPERATOR, "user", "house-c");
    let fridge = token(port, OPERATOR, "device", "fridge-c");
    let grant = json!({"device_kinds": ["fridge"], "devices": []});
    assert_eq!(json_call(port, "PUT", "/v1/me/grants/test.hearth.recorder", &user, grant).0, 204);
    let events: Vec<Value> =
        (0..25).map(|n| json!({"id": format!("c-{n}"), "topic": "ext.test.count", "body": {}})).collect();
    assert_eq!(json_call(port, "POST", "/v1/events", &fridge, json!(events)).0, 202);
    poll("25 delivered", || delivered(port, "test.hearth.recorder") == 25);
    stop(server);

    let (server, port) = serve(dir.path(), OPERATOR, &["--dev-allow-unsigned-packages"]);
    assert_eq!(delivered(port, "test.hearth.recorder"), 25, "after a restart");
    let newer = recorder.replace("version = \"0.1.0\"", "version = \"0.2.0\"");
    install_unsigned(port, OPERATOR, hearth_test_components::RECORDER_PLUGIN, &newer);
    assert_eq!(delivered(port, "test.hearth.recorder"), 25, "after an upgrade");
    let more: Vec<Value> =
        (25..65).map(|n| json!({"id": format!("c-{n}"), "topic": "ext.test.count", "body": {}})).collect();
    assert_eq!(json_call(port, "POST", "/v1/events", &fridge, json!(more)).0, 202);
    poll("65 delivered", || delivered(port, "test.hearth.recorder") == 65);
    stop(server);
}

/// A partner's manifest asks for kv only, over a component that imports every
/// capability (as jco and componentize-py build them): over HTTP it installs, its
/// notify, commerce and service calls are refused naming the line to add, nothing
/// reaches the household, and the operator sees the refusals counted.
#[test]
fn a_kv_only_manifest_installs_and_grants_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (server, port) = serve(dir.path(), OPERATOR, &["--dev-allow-unsigned-packages"]);
    let manifest = std::fs::read_to_string(hearth_test_components::PROBE_PLUGIN_MANIFEST).unwrap();
    let kv_only: String = manifest
        .lines()
        .filter(|line| {
            !["notify =", "commerce =", "calls =", "devices =", "http ="].iter().any(|key| line.starts_with(key))
        })
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(kv_only.contains("kv = true") && !kv_only.contains("notify ="), "{kv_only}");
    install_unsigned(port, OPERATOR, hearth_test_components::PROBE_PLUGIN, &kv_only);
    register(port, OPERATOR, "house-k", &[]);
    let user = token(port, OPERATOR, "user", "house-k");
    let grant = json!({"device_kinds": [], "devices": []});
    assert_eq!(json_call(port, "PUT", "/v1/me/grants/test.hearth.probe", &user, grant).0, 204);

    let call = |operation: &str, input: Value| {
        let (status, answer) = json_call(port, "POST", &format!("/v1/services/probe/{operation}"), &user, input);
        assert_eq!(status, 200, "{operation}: {answer}");
        answer
    };
    let notified = call("notify", json!({"title": "Hi", "body": "there"}));
    let text = notified["error"].as_str().unwrap_or_default();
    assert!(text.contains("NotGranted(") && text.contains("[capabilities] notify = true"), "{notified}");
    let items = json!([{"sku": "F-1", "name": "Filter", "quantity": 1, "unit_price_minor": 900}]);
    let proposed = call("propose", json!({"order_id": "o-1", "currency": "EUR", "items": items, "note": "n"}));
    assert!(proposed["error"].as_str().unwrap_or_default().contains("[capabilities] commerce = true"), "{proposed}");
    let called = call("call", json!({"service": "probe", "operation": "whoami"}));
    assert!(called["error"].as_str().unwrap_or_default().contains("[services] calls"), "{called}");

    let (status, notifications) = json_call(port, "GET", "/v1/me/notifications", &user, Value::Null);
    assert_eq!(status, 200, "{notifications}");
    assert_eq!(notifications["notifications"], json!([]), "{notifications}");
    let (status, offers) = json_call(port, "GET", "/v1/me/offers", &user, Value::Null);
    assert_eq!(status, 200, "{offers}");
    assert_eq!(offers["offers"], json!([]), "{offers}");
    assert_eq!(plugin_status(port, "test.hearth.probe")["calls_not_granted"], 3, "notify, propose and the call");
    stop(server);
}

/// The largest component is what the operator sets on the command line (`hearth serve
/// --max-component-mb 1`), used alike by the upload limit (the component plus 1 MiB
/// for the manifest and the form) and by install: 1.5 MiB is refused 422 naming the
/// setting, 2.5 MiB is refused 413 before it is read, and the plain recorder installs.
#[test]
fn the_largest_component_is_what_the_operator_set_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--dev-allow-unsigned-packages", "--max-component-mb", "1"];
    let (server, port) = serve(dir.path(), OPERATOR, &args);
    let manifest = std::fs::read_to_string(hearth_test_components::RECORDER_PLUGIN_MANIFEST).unwrap();
    let recorder = hearth_test_components::read(hearth_test_components::RECORDER_PLUGIN);
    assert!(recorder.len() < 1 << 20, "the recorder must fit for this test: {} bytes", recorder.len());

    let over = hearth_test_components::padded(&recorder, 3 << 19);
    let (status, answer) = upload_unsigned(port, OPERATOR, &over, &manifest);
    assert_eq!(status, 422, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("1048576") && message.contains("--max-component-mb"), "{answer}");
    let (status, answer) =
        upload_unsigned(port, OPERATOR, &hearth_test_components::padded(&recorder, 5 << 19), &manifest);
    assert_eq!(status, 413, "{answer}");
    let (status, answer) = json_call(port, "GET", "/v1/plugins", OPERATOR, Value::Null);
    assert_eq!((status, answer["plugins"].as_array().map(Vec::len)), (200, Some(0)), "{answer}");

    let (status, answer) = upload_unsigned(port, OPERATOR, &recorder, &manifest);
    assert_eq!(status, 201, "{answer}");
    stop(server);
}
