//! Each partner capability through a real plugin (the probe fixture): grants,
//! consent, limits, idempotency, the ledger, provider selection and call cycles.

use crate::support::*;
use hearth_host::bindings::Caller;
use hearth_host::commerce::orders::OrderStatus;
use hearth_host::households::Grant;
use hearth_host::households::notifications::RateLimit;
use hearth_host::{CallError, Host, HostConfig, HostError};
use serde_json::{Value, json};

const PROBE: &str = "test.hearth.probe";

async fn install_probe(host: &Host, id: &str) {
    let mut manifest = manifest(hearth_test_components::PROBE_PLUGIN_MANIFEST);
    manifest.plugin.id = id.to_owned();
    host.install(manifest, hearth_test_components::read(hearth_test_components::PROBE_PLUGIN)).await.unwrap();
}

async fn probe(host: &Host, operation: &str, household: &str, input: Value) -> Value {
    let response = host
        .call_service("probe", operation, Caller::Household(household.into()), Some(household.into()), bytes(&input))
        .await
        .unwrap();
    serde_json::from_slice(&response.output).unwrap()
}

fn appliances_grant(control: bool) -> Grant {
    Grant { device_kinds: ["fridge".into(), "air-conditioner".into()].into(), control, ..Grant::default() }
}

/// A host with household h1 (a fridge and an air conditioner in Korea), the probe
/// installed and granted.
async fn setup(config: HostConfig) -> (tempfile::TempDir, Host) {
    let dir = tempfile::tempdir().unwrap();
    let host = open_with(dir.path(), config).await;
    host.add_household("h1").unwrap();
    for (id, kind, region) in [("fridge-1", "fridge", "KR"), ("ac-1", "air-conditioner", "KR-11")] {
        host.add_device(hearth_host::households::Device {
            id: id.into(),
            household: "h1".into(),
            kind: kind.into(),
            model: format!("{kind}-2026"),
            region: region.into(),
        })
        .unwrap();
    }
    install_probe(&host, PROBE).await;
    host.grant("h1", PROBE, &appliances_grant(false)).await.unwrap();
    (dir, host)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_need_consent_are_validated_and_rate_limited() {
    let config = HostConfig {
        notify_limit: RateLimit { max: 3, window: std::time::Duration::from_secs(3600) },
        ..fast_retries()
    };
    let (_dir, host) = setup(config).await;

    let sent = probe(&host, "notify", "h1", json!({"title": "Filter soon", "body": "Order a carbon filter"})).await;
    assert!(sent["ok"].as_str().unwrap().starts_with("ntf-"), "{sent}");
    let notifications = host.notifications("h1").unwrap();
    assert_eq!(notifications.len(), 1);
    assert_eq!((notifications[0].plugin.as_str(), notifications[0].category.as_str()), (PROBE, "advice"));
    assert_eq!(notifications[0].action.as_ref().unwrap().operation, "probe.whoami");

    let untitled = probe(&host, "notify", "h1", json!({"title": " ", "body": "x"})).await;
    assert!(untitled["error"].as_str().unwrap().contains("Invalid"), "{untitled}");
    probe(&host, "notify", "h1", json!({"title": "2", "body": ""})).await;
    probe(&host, "notify", "h1", json!({"title": "3", "body": ""})).await;
    let limited = probe(&host, "notify", "h1", json!({"title": "4", "body": ""})).await;
    assert!(limited["error"].as_str().unwrap().contains("RateLimited"), "{limited}");
    assert_eq!(host.notifications("h1").unwrap().len(), 3);

    // Without a grant the household cannot even be served, let alone notified.
    host.add_household("h2").unwrap();
    let refused =
        host.call_service("probe", "notify", Caller::Household("h2".into()), Some("h2".into()), b"{}".to_vec()).await;
    assert!(matches!(refused, Err(CallError::NoProvider(_))), "{refused:?}");
    assert!(host.notifications("h2").unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_validated_idempotent_and_booked_exactly_once() {
    let (_dir, host) = setup(fast_retries()).await;
    host.set_agreement("probe-works", 8_500).unwrap();
    let items = json!([
        {"sku": "CF-10", "name": "Carbon filter", "quantity": 2, "unit_price_minor": 199},
        {"sku": "SV-1", "name": "Fitting service", "quantity": 1, "unit_price_minor": 1250},
    ]);
    let order = json!({"order_id": "o-1", "currency": "EUR", "items": items, "note": "Your filter is at 8 %"});
    assert_eq!(probe(&host, "propose", "h1", order.clone()).await, json!({"ok": null}));
    assert_eq!(
        probe(&host, "propose", "h1", order.clone()).await,
        json!({"ok": null}),
        "same proposal again is a no-op"
    );
    let offers = host.offers("h1").unwrap();
    assert_eq!(offers.len(), 1);
    assert_eq!((offers[0].total_minor, offers[0].publisher.as_str()), (1_648, "probe-works"));

    let mut changed = order.clone();
    changed["note"] = "cheaper now".into();
    assert!(probe(&host, "propose", "h1", changed).await["error"].as_str().unwrap().contains("Conflict"));
    let mut bad_currency = order.clone();
    bad_currency["order_id"] = "o-2".into();
    bad_currency["currency"] = "EURO".into();
    assert!(probe(&host, "propose", "h1", bad_currency).await["error"].as_str().unwrap().contains("ISO 4217"));
    let overflow = json!({"order_id": "o-3", "currency": "EUR", "note": "",
        "items": [{"sku": "X", "name": "Gold", "quantity": 4_000_000_000u64, "unit_price_minor": 4_000_000_000u64}]});
    assert!(probe(&host, "propose", "h1", overflow).await["error"].as_str().unwrap().contains("exceeds"));
    let forged = json!({"order_id": "o-4", "currency": "EUR", "items": items, "note": "", "household": "u-00000000000000000000000000000000"});
    assert!(probe(&host, "propose", "h1", forged).await["error"].as_str().unwrap().contains("UnknownHousehold"));
    assert_eq!(host.offers("h1").unwrap().len(), 1, "refused proposals leave nothing");

    // Another household cannot confirm h1's order.
    host.add_household("h2").unwrap();
    assert!(matches!(host.confirm_order("h2", PROBE, "o-1").await, Err(HostError::NotFound(_))));

    let entry = host.confirm_order("h1", PROBE, "o-1").await.unwrap();
    // 15 % of 1648 = 247.2: the platform gets 247, the publisher the remaining 1401.
    assert_eq!((entry.gross_minor, entry.platform_minor, entry.publisher_minor), (1_648, 247, 1_401));
    let again = host.confirm_order("h1", PROBE, "o-1").await.unwrap();
    assert_eq!(again, entry, "confirming twice books once");
    let statement = host.statement("probe-works", &entry.month).unwrap();
    assert_eq!(statement.totals["EUR"].orders, 1);
    assert_eq!(statement.totals["EUR"].publisher_minor + statement.totals["EUR"].platform_minor, 1_648);
    assert!(host.statement("someone-else", &entry.month).unwrap().entries.is_empty());
    assert_eq!(host.orders("h1").unwrap()[0].status, OrderStatus::Confirmed);
    assert!(host.offers("h1").unwrap().is_empty());

    // The plugin hears of the confirmation.
    wait_until("order-confirmed reaches the plugin", || async { host.status(PROBE).unwrap().delivered >= 1 }).await;

    let second = json!({"order_id": "o-5", "currency": "KRW", "items": [{"sku": "S", "name": "Sediment filter", "quantity": 1, "unit_price_minor": 15_000}], "note": ""});
    probe(&host, "propose", "h1", second).await;
    host.decline_order("h1", PROBE, "o-5").await.unwrap();
    assert!(matches!(host.confirm_order("h1", PROBE, "o-5").await, Err(HostError::InvalidInput(_))));
    assert!(matches!(host.decline_order("h1", PROBE, "o-1").await, Err(HostError::InvalidInput(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_commands_need_the_grant_and_control_consent() {
    let (_dir, host) = setup(fast_retries()).await;
    let air = json!({"topic": "appliance.air.telemetry", "body": {"temperature_centi_celsius": 2900, "humidity_centi_percent": 5500,
        "air_quality": "good", "cooling_setpoint_centi_celsius": 2200}});
    send_and_wait(&host, PROBE, "ac-1", vec![air]).await;
    send_and_wait(&host, PROBE, "fridge-1", vec![inventory_json("f1", "egg", "added", 6, "pieces", None)]).await;

    let described = probe(&host, "describe", "h1", json!({})).await["ok"].clone();
    let described = described.as_array().unwrap();
    assert_eq!(described.len(), 2);
    let ac = described.iter().find(|d| d["kind"] == "air-conditioner").unwrap();
    assert_eq!((ac["region"].as_str(), ac["model"].as_str()), (Some("KR-11"), Some("air-conditioner-2026")));
    assert!(!ac["device"].as_str().unwrap().contains("ac-1"), "plugins see refs, not device ids");
    let ac_ref = ac["device"].as_str().unwrap().to_owned();
    let fridge_ref = described.iter().find(|d| d["kind"] == "fridge").unwrap()["device"].as_str().unwrap().to_owned();

    let command = |device: &str, body: Value| {
        let mut input = body;
        input["device"] = device.into();
        input
    };
    let no_control = probe(&host, "command", "h1", command(&ac_ref, json!({"centi_celsius": 2600}))).await;
    assert!(no_control["error"].as_str().unwrap().contains("NoConsent"), "{no_control}");

    host.grant("h1", PROBE, &appliances_grant(true)).await.unwrap();
    let sent = probe(&host, "command", "h1", command(&ac_ref, json!({"centi_celsius": 2600}))).await;
    assert!(sent["ok"].as_str().unwrap().starts_with("cmd-"), "{sent}");
    let preheat = probe(&host, "command", "h1", command(&ac_ref, json!({"preheat": true}))).await;
    assert!(preheat["error"].as_str().unwrap().contains("air-conditioner:preheat is not granted"), "{preheat}");
    let fridge = probe(&host, "command", "h1", command(&fridge_ref, json!({}))).await;
    assert!(fridge["error"].as_str().unwrap().contains("NotGranted"), "{fridge}");
    let hot = probe(&host, "command", "h1", command(&ac_ref, json!({"centi_celsius": 90_000}))).await;
    assert!(hot["error"].as_str().unwrap().contains("Invalid"), "{hot}");
    let unknown = probe(&host, "command", "h1", command("d-0000", json!({}))).await;
    assert!(unknown["error"].as_str().unwrap().contains("UnknownDevice"), "{unknown}");

    let queued = host.take_commands("ac-1").unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!((queued[0].command.as_str(), queued[0].argument.clone()), ("set-temperature", Some(json!(2600))));
    assert!(host.take_commands("ac-1").unwrap().is_empty(), "fetching takes the commands");

    // A revoked household's devices are out of reach.
    host.revoke("h1", PROBE).await.unwrap();
    let gone =
        host.call_service("probe", "describe", Caller::Household("h1".into()), Some("h1".into()), b"{}".to_vec()).await;
    assert!(matches!(gone, Err(CallError::NoProvider(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_are_chosen_by_preference_then_ranking_and_failures_fall_through() {
    let mut config = fast_retries();
    config.delivery.quarantine_after = 1;
    let (_dir, host) = setup(config).await;
    install_probe(&host, "test.hearth.probe-b").await;
    host.grant("h1", "test.hearth.probe-b", &appliances_grant(false)).await.unwrap();
    host.set_config(PROBE, "name", "a").await.unwrap();
    host.set_config("test.hearth.probe-b", "name", "b").await.unwrap();
    let whoami = |host: Host| async move { probe(&host, "whoami", "h1", json!({})).await["ok"].clone() };

    assert_eq!(whoami(host.clone()).await, "a", "by plugin id when nothing else decides");
    host.set_provider_ranking("probe.whoami", &["test.hearth.probe-b", PROBE]).unwrap();
    assert_eq!(whoami(host.clone()).await, "b", "the operator's ranking");
    host.set_provider_preference("h1", "probe.whoami", PROBE).unwrap();
    assert_eq!(whoami(host.clone()).await, "a", "the household's preference beats the ranking");

    // The preferred provider crashes: the call falls through, and this household is
    // suspended from it (one caller's failures do not quarantine it for everybody).
    host.set_config(PROBE, "broken", "yes").await.unwrap();
    assert_eq!(whoami(host.clone()).await, "b");
    let status = host.status(PROBE).unwrap();
    assert!(!status.quarantined && status.callers_suspended == 1, "{status:?}");
    assert_eq!(whoami(host.clone()).await, "b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_call_each_other_with_their_own_refs_and_no_cycles() {
    let (_dir, host) = setup(fast_retries()).await;
    // Alone, the probe would have to call itself: a cycle, refused.
    let alone = probe(&host, "call", "h1", json!({"service": "probe", "operation": "whoami", "input": {}})).await;
    assert!(alone["error"].as_str().unwrap().contains("call chain"), "{alone}");
    let not_allowed =
        probe(&host, "call", "h1", json!({"service": "recipes", "operation": "suggest", "input": {}})).await;
    assert!(not_allowed["error"].as_str().unwrap().contains("not in this plugin's [services] calls"), "{not_allowed}");

    install_probe(&host, "test.hearth.probe-b").await;
    host.grant("h1", "test.hearth.probe-b", &appliances_grant(false)).await.unwrap();
    host.set_config("test.hearth.probe-b", "name", "b").await.unwrap();
    host.set_provider_preference("h1", "probe.call", PROBE).unwrap();
    let nested = probe(&host, "call", "h1", json!({"service": "probe", "operation": "whoami", "input": {}})).await;
    assert_eq!(nested["ok"]["ok"], "b", "{nested}");
    let b_ref = nested["ok"]["household"].as_str().unwrap().to_owned();
    host.set_provider_preference("h1", "probe.whoami", PROBE).unwrap();
    let a_ref = probe(&host, "whoami", "h1", json!({})).await["household"].as_str().unwrap().to_owned();
    assert_ne!(a_ref, b_ref, "each plugin sees its own ref of the household");

    // probe → probe-b → probe would close a loop.
    let looping = probe(
        &host,
        "call",
        "h1",
        json!({"service": "probe", "operation": "call",
        "input": {"service": "probe", "operation": "call", "input": {}}}),
    )
    .await;
    assert!(looping.to_string().contains("call chain"), "{looping}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_quota_value_limit_and_compare_and_swap_reach_the_plugin_as_errors() {
    let config = HostConfig { kv_quota_bytes: 1 << 20, ..fast_retries() };
    let (_dir, host) = setup(config).await;
    let report = probe(&host, "kv-fill", "h1", json!({})).await;
    // 1 MiB holds 17 values of 60 KiB (plus keys); the 18th is refused.
    assert_eq!(report["written"], 17, "{report}");
    assert!(report["refused"].as_str().unwrap().contains("QuotaExceeded"), "{report}");
    assert!(report["too_big"].as_str().unwrap().contains("ValueTooLarge"), "{report}");
    assert_eq!(report["first_claim"], json!({"ok": true}));
    assert_eq!(report["second_claim"], json!({"ok": false}));
    // The plugin is still healthy: quota is an error it handles, not a trap.
    assert!(!host.status(PROBE).unwrap().quarantined);
    assert!(probe(&host, "whoami", "h1", json!({})).await.get("ok").is_some());
}

/// A key is 1 to 512 bytes. Any other length is the plugin's error to handle in every
/// kv call (`invalid-key`), never a trap: the plugin stays healthy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_of_the_wrong_length_is_an_invalid_key_error_in_every_kv_call() {
    let (_dir, host) = setup(fast_retries()).await;
    for length in [0, 513, 4096] {
        let report = probe(&host, "kv-key", "h1", json!({ "length": length })).await;
        for call in ["set", "get", "compare_and_swap", "delete"] {
            let error = report[call]["error"].as_str().unwrap_or_default();
            assert!(error.contains("InvalidKey"), "kv {call} with a {length}-byte key: {report}");
        }
    }
    let fits = probe(&host, "kv-key", "h1", json!({ "length": 512 })).await;
    assert_eq!(
        fits,
        json!({"set": {"ok": null}, "get": {"ok": [118]}, "compare_and_swap": {"ok": true}, "delete": {"ok": null}})
    );
    let status = host.status(PROBE).unwrap();
    assert!(!status.quarantined && status.calls_failed == 0, "{status:?}");
}

/// A loopback HTTP/1.1 server: `/small` answers a short text, `/big` 2 MiB with a
/// content length, `/stream` 2 MiB chunked (no length), `/slow` nothing for 10 s.
async fn loopback_server() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let path = String::from_utf8_lossy(&request).split(' ').nth(1).unwrap_or("/").to_owned();
                let big = vec![b'x'; 2 << 20];
                let _ = match path.as_str() {
                    "/small" => {
                        let body = "carbon filter CF-KR: in stock";
                        socket
                            .write_all(
                                format!(
                                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                                    body.len()
                                )
                                .as_bytes(),
                            )
                            .await
                    }
                    "/big" => {
                        let head =
                            format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", big.len());
                        socket.write_all(&[head.as_bytes(), &big].concat()).await
                    }
                    "/stream" => {
                        let mut response =
                            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_vec();
                        for chunk in big.chunks(64 << 10) {
                            response.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                            response.extend_from_slice(chunk);
                            response.extend_from_slice(b"\r\n");
                        }
                        response.extend_from_slice(b"0\r\n\r\n");
                        socket.write_all(&response).await
                    }
                    _ => {
                        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                        Ok(())
                    }
                };
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_http_reaches_only_granted_destinations_within_limits() {
    let allowed = loopback_server().await;
    let other = loopback_server().await;
    let http_limits = hearth_host::capabilities::http::HttpLimits {
        timeout: std::time::Duration::from_millis(300),
        max_response_bytes: 1 << 20,
    };
    let mut config = HostConfig { http_limits, ..fast_retries() };
    config.max_limits.service_timeout = std::time::Duration::from_secs(10);
    let (_dir, host) = setup(config).await;
    let mut granted = manifest(hearth_test_components::PROBE_PLUGIN_MANIFEST);
    granted.capabilities.http = vec![format!("127.0.0.1:{allowed}")];
    // Room for the 300 ms HTTP timeout on a loaded machine.
    granted.limits.service_timeout_ms = Some(5_000);
    host.install(granted, hearth_test_components::read(hearth_test_components::PROBE_PLUGIN)).await.unwrap();
    let fetch = |port: u16, path: &str| {
        let host = host.clone();
        let url = format!("http://127.0.0.1:{port}{path}");
        async move { probe(&host, "fetch", "h1", json!({ "url": url })).await }
    };

    let small = fetch(allowed, "/small").await;
    assert_eq!(small["ok"]["status"], 200, "{small}");
    assert_eq!(small["ok"]["body"], "carbon filter CF-KR: in stock");
    assert_eq!(fetch(other, "/small").await["error"], "Denied", "a port not granted");
    let by_name = probe(&host, "fetch", "h1", json!({"url": format!("http://localhost:{allowed}/small")})).await;
    assert_eq!(by_name["error"], "Denied", "grants name exact hosts: {by_name}");
    assert_eq!(fetch(allowed, "/big").await["error"], "TooLarge", "declared too large");
    assert_eq!(fetch(allowed, "/stream").await["error"], "TooLarge", "streamed past the cap");
    assert_eq!(fetch(allowed, "/slow").await["error"], "Timeout");
    // The plugin handled every refusal itself and stays healthy.
    assert_eq!(fetch(allowed, "/small").await["ok"]["status"], 200);

    // A plugin without an http grant still links (toolchains import wasi:http whether
    // the code uses it or not), and every request it makes is denied.
    host.remove("test.hearth.probe").await.unwrap();
    let mut ungranted = manifest(hearth_test_components::PROBE_PLUGIN_MANIFEST);
    ungranted.plugin.id = "test.hearth.probe-offline".into();
    ungranted.capabilities.http.clear();
    host.install(ungranted, hearth_test_components::read(hearth_test_components::PROBE_PLUGIN)).await.unwrap();
    host.grant("h1", "test.hearth.probe-offline", &appliances_grant(false)).await.unwrap();
    for port in [allowed, other] {
        assert_eq!(fetch(port, "/small").await["error"], "Denied", "no destination is granted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_called_plugin_inherits_the_callers_deadline() {
    // Roomy budgets, so a loaded machine cannot blur the difference.
    let mut config = fast_retries();
    config.max_limits.service_timeout = std::time::Duration::from_secs(10);
    let (_dir, host) = setup(config).await;
    let mut probe_manifest = manifest(hearth_test_components::PROBE_PLUGIN_MANIFEST);
    probe_manifest.limits.service_timeout_ms = Some(3_000);
    host.install(probe_manifest, hearth_test_components::read(hearth_test_components::PROBE_PLUGIN)).await.unwrap();
    let mut hostile = manifest(hearth_test_components::HOSTILE_PLUGIN_MANIFEST);
    hostile.limits.service_timeout_ms = Some(6_000);
    host.install(hostile, hearth_test_components::read(hearth_test_components::HOSTILE_PLUGIN)).await.unwrap();
    host.grant("h1", "test.hearth.hostile", &appliances_grant(false)).await.unwrap();
    // The probe has 3 s; the looping callee would get 6 s of its own, but is cut at the
    // probe's deadline less a tenth, so the probe still answers with the error.
    let answer = probe(&host, "call", "h1", json!({"service": "hostile", "operation": "loop", "input": {}})).await;
    let error = answer["error"].as_str().unwrap();
    let budget = error.split("timed out after ").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default();
    let seconds = if let Some(ms) = budget.strip_suffix("ms") {
        ms.parse::<f64>().ok().map(|ms| ms / 1000.0)
    } else {
        budget.strip_suffix('s').and_then(|s| s.parse::<f64>().ok())
    };
    let seconds = seconds.unwrap_or_else(|| panic!("no timeout in {error}"));
    assert!((2.0..3.0).contains(&seconds), "the callee's budget was {seconds} s: {error}");
}

/// A component that imports capabilities its manifest does not request (as every
/// component built with jco or componentize-py does): it installs, and each call of
/// one is refused with the typed `not-granted` error naming the manifest line to add,
/// counted in its status and metrics and reported in its log. Nothing is granted by
/// importing: the probe's own kv, notify and commerce calls all fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_not_requested_link_and_refuse_every_call_naming_the_manifest_line() {
    let (_dir, host) = setup(fast_retries()).await;
    host.remove(PROBE).await.unwrap();
    let mut lacking = manifest(hearth_test_components::PROBE_PLUGIN_MANIFEST);
    (lacking.capabilities.kv, lacking.capabilities.notify, lacking.capabilities.commerce) = (false, false, false);
    lacking.services.calls.clear();
    host.install(lacking, hearth_test_components::read(hearth_test_components::PROBE_PLUGIN)).await.unwrap();
    host.grant("h1", PROBE, &appliances_grant(false)).await.unwrap();

    let refusal = |answer: &Value| answer["error"].as_str().unwrap_or_default().to_owned();
    let notified = refusal(&probe(&host, "notify", "h1", json!({"title": "Hello", "body": "there"})).await);
    assert!(notified.contains("NotGranted(") && notified.contains("[capabilities] notify = true"), "{notified}");
    let items = json!([{"sku": "CF-10", "name": "Carbon filter", "quantity": 1, "unit_price_minor": 199}]);
    let order = json!({"order_id": "o-1", "currency": "EUR", "items": items, "note": "n"});
    let proposed = refusal(&probe(&host, "propose", "h1", order).await);
    assert!(proposed.contains("NotGranted(") && proposed.contains("[capabilities] commerce = true"), "{proposed}");
    // kv-fill: a set, an oversized set and two compare-and-swaps, all refused.
    let filled = probe(&host, "kv-fill", "h1", json!({})).await;
    assert_eq!(filled["written"], 0, "{filled}");
    let refused = filled["refused"].as_str().unwrap();
    assert!(refused.contains("NotGranted(") && refused.contains("[capabilities] kv = true"), "{refused}");
    assert!(filled["first_claim"]["error"].as_str().unwrap().contains("NotGranted("), "{filled}");
    let called = refusal(&probe(&host, "call", "h1", json!({"service": "probe", "operation": "whoami"})).await);
    // (The SDK turns the typed `not-allowed` into its own error; the message stays.)
    assert!(called.contains("add `calls = [\\\"probe.whoami\\\"]` under [services]"), "{called}");
    assert!(host.notifications("h1").unwrap().is_empty());

    // What `hearth plugin build` tells the partner beforehand: each capability the
    // component imports and the manifest leaves out, with the line to add.
    let mut lacking = manifest(hearth_test_components::PROBE_PLUGIN_MANIFEST);
    (lacking.capabilities.notify, lacking.capabilities.commerce) = (false, false);
    let bytes = hearth_test_components::read(hearth_test_components::PROBE_PLUGIN);
    let notices = hearth_host::runtime::component::validate(&lacking, &bytes).unwrap();
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(notices[0].contains("hearth:plugin/notify") && notices[0].contains("add `[capabilities] notify = true`"));
    assert!(notices[1].contains("hearth:plugin/commerce") && notices[1].contains("commerce = true"), "{notices:?}");
    let full = manifest(hearth_test_components::PROBE_PLUGIN_MANIFEST);
    assert_eq!(hearth_host::runtime::component::validate(&full, &bytes).unwrap(), Vec::<String>::new());

    // notify, propose, kv-fill's four calls, and the service call outside `calls`.
    let refusals = 1 + 1 + 4 + 1;
    assert_eq!(host.status(PROBE).unwrap().calls_not_granted, refusals);
    let metrics = host.render_metrics();
    let line = format!("hearth_plugin_calls_not_granted_total{{plugin=\"{PROBE}\"}} {refusals}");
    assert!(metrics.contains(&line), "{line} missing");
    host.logbook().store_pending().unwrap();
    let log = host.logbook().read(PROBE, None, 100).unwrap();
    assert!(
        log.iter().any(|line| line.message.contains("kv.set refused") && line.message.contains("kv = true")),
        "{log:?}"
    );
}
