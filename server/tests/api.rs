//! The HTTP API through `oneshot` (no socket): every route family, the auth matrix,
//! bad input, and a household's day through the API.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

#[path = "../../host/tests/all/support/mod.rs"]
mod support;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use hearth_server::auth::Role;
use hearth_server::{ApiState, app};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use support::*;
use tower::ServiceExt;

struct Api {
    router: Router,
    state: ApiState,
    _dir: tempfile::TempDir,
}

impl Api {
    async fn new() -> Self {
        Self::with_config(hearth_host::HostConfig::default()).await
    }

    async fn with_config(config: hearth_host::HostConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let host = open_with(dir.path(), config).await;
        let state = ApiState::new(host).unwrap();
        Api { router: app(state.clone()), state, _dir: dir }
    }

    async fn token(&self, role: Role, scope: &str) -> String {
        self.state.tokens.create(role, scope).await.unwrap().1
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Body,
        content_type: &str,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path).header("content-type", content_type);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = self.router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }

    async fn json(&self, method: Method, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let body = if body.is_null() { Body::empty() } else { Body::from(body.to_string()) };
        self.send(method, path, token, body, "application/json").await
    }

    /// Uploads a package signed by a key the host trusts for the manifest's publisher.
    async fn install(&self, token: &str, manifest: &str, component: Vec<u8>) -> (StatusCode, Value) {
        let key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
        if let Ok(parsed) = manifest.parse::<hearth_package::Manifest>() {
            let public = hex::encode(key.verifying_key().as_bytes());
            self.state.host.trust_store().trust(&parsed.plugin.publisher, &public).unwrap();
        }
        let package = hearth_package::Package::build(manifest, &component, Some(&key)).unwrap();
        self.send(Method::POST, "/v1/packages", Some(token), Body::from(package), "application/vnd.hearth.package")
            .await
    }

    /// The unsigned multipart upload (allowed only with the dev flag).
    async fn install_unsigned(&self, token: &str, manifest: &str, component: Vec<u8>) -> (StatusCode, Value) {
        let boundary = "hearth-boundary";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!("--{boundary}\r\ncontent-disposition: form-data; name=\"manifest\"\r\n\r\n{manifest}\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(format!("--{boundary}\r\ncontent-disposition: form-data; name=\"component\"; filename=\"plugin.wasm\"\r\ncontent-type: application/wasm\r\n\r\n").as_bytes());
        body.extend_from_slice(&component);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.send(
            Method::POST,
            "/v1/plugins",
            Some(token),
            Body::from(body),
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .await
    }
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("not an API error: {body}"))
}

/// An installed recipe service, a household with a fridge, and a token per role.
async fn populated() -> (Api, [String; 4]) {
    let api = Api::new().await;
    let operator = api.token(Role::Operator, "").await;
    let manifest = std::fs::read_to_string(hearth_test_components::RECIPE_SERVICE_MANIFEST).unwrap();
    let (status, body) =
        api.install(&operator, &manifest, hearth_test_components::read(hearth_test_components::RECIPE_SERVICE)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        api.json(Method::POST, "/v1/households", Some(&operator), json!({"id": "h1"})).await.0,
        StatusCode::CREATED
    );
    let device = json!({"id": "fridge-1", "household": "h1", "kind": "fridge", "model": "RF85", "region": "KR"});
    assert_eq!(api.json(Method::POST, "/v1/devices", Some(&operator), device).await.0, StatusCode::CREATED);
    let tokens = [
        operator,
        api.token(Role::Device, "fridge-1").await,
        api.token(Role::User, "h1").await,
        api.token(Role::Partner, "example").await,
    ];
    (api, tokens)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_household_day_through_the_api() {
    let (api, [operator, device, user, partner]) = populated().await;
    let plugin = "com.example.recipe-service";
    let grant = json!({"device_kinds": ["fridge"], "devices": [], "control": false});
    assert_eq!(
        api.json(Method::PUT, &format!("/v1/me/grants/{plugin}"), Some(&user), grant).await.0,
        StatusCode::NO_CONTENT
    );

    let events = json!([
        {"id": "e1", "topic": "appliance.fridge.inventory", "body": {"item": "egg", "action": "added", "quantity": {"amount": 6, "unit": "pieces"}}},
        {"id": "e2", "topic": "appliance.fridge.inventory", "body": {"item": "spinach", "action": "added", "quantity": {"amount": 100, "unit": "grams"}}},
        {"id": "e3", "topic": "appliance.fridge.inventory", "body": {"item": "feta", "action": "added", "quantity": {"amount": 100, "unit": "grams"}}},
    ]);
    let (status, body) = api.json(Method::POST, "/v1/events", Some(&device), events).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["receipts"].as_array().unwrap().len(), 3);
    wait_until("delivery", || async { api.state.host.status(plugin).unwrap().delivered == 3 }).await;

    for token in [&user, &device] {
        let (status, body) = api.json(Method::POST, "/v1/services/recipes/suggest", Some(token), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["ready"][0]["id"], "spinach-feta-omelette");
    }
    let (status, body) =
        api.json(Method::POST, "/v1/services/recipes/suggest", Some(&user), json!({"limit": "many"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "{body}");
    let (status, body) = api.json(Method::POST, "/v1/services/nothing/here", Some(&user), json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"));

    let (status, body) = api.json(Method::GET, "/v1/me/notifications", Some(&user), Value::Null).await;
    assert_eq!((status, body["notifications"].as_array().unwrap().len()), (StatusCode::OK, 0));
    let (status, body) = api.json(Method::GET, "/v1/commands", Some(&device), Value::Null).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"commands": []})));

    let (_, body) = api.json(Method::GET, "/v1/partner/plugins", Some(&partner), Value::Null).await;
    assert_eq!(body["plugins"][0]["status"]["delivered"], 3);
    let (_, body) = api.json(Method::GET, &format!("/v1/plugins/{plugin}"), Some(&operator), Value::Null).await;
    assert_eq!(body["publisher"], "example");
    let (status, body) = api.json(Method::GET, "/v1/partner/statements/2026-11", Some(&partner), Value::Null).await;
    assert_eq!((status, &body["publisher"]), (StatusCode::OK, &json!("example")));

    let (status, metrics) = api.json(Method::GET, "/metrics", None, Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    let metrics = metrics.as_str().unwrap();
    for line in [
        "hearth_events_delivered_total{plugin=\"com.example.recipe-service\"} 3",
        "hearth_plugin_event_call_seconds_count{plugin=\"com.example.recipe-service\"} 3",
        "hearth_plugin_quarantined{plugin=\"com.example.recipe-service\"} 0",
        "hearth_consumer_lag_events 0",
        "hearth_plugin_lag_events{plugin=\"com.example.recipe-service\"} 0",
        "hearth_http_requests_total{method=\"POST\",route=\"/v1/events\",status=\"202\"} 1",
        "hearth_http_requests_total{method=\"POST\",route=\"/v1/services/{service}/{operation}\",status=\"404\"} 1",
    ] {
        assert!(metrics.contains(line), "missing {line} in\n{metrics}");
    }
    assert!(
        metrics.contains("hearth_plugin_service_call_seconds_count{plugin=\"com.example.recipe-service\"} 3"),
        "{metrics}"
    );

    let (status, body) = api.json(Method::DELETE, "/v1/me", Some(&user), Value::Null).await;
    assert_eq!(
        (status, &body["erased"]["kv_entries"]),
        (StatusCode::OK, &json!(2)),
        "inventory and last suggestion: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_family_refuses_the_wrong_callers() {
    let (api, [operator, device, user, partner]) = populated().await;
    let revoked = api.token(Role::Operator, "").await;
    let revoked_id = api.state.tokens.verify(&revoked).unwrap().unwrap().id;
    let (status, _) = api.json(Method::DELETE, &format!("/v1/tokens/{revoked_id}"), Some(&operator), Value::Null).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // (method, path, body, the role it is for)
    let routes: Vec<(Method, &str, Value, &String)> = vec![
        (Method::GET, "/v1/plugins", Value::Null, &operator),
        (Method::POST, "/v1/tokens", json!({"role": "device", "scope": "fridge-1"}), &operator),
        (Method::POST, "/v1/households", json!({"id": "h9"}), &operator),
        (Method::PUT, "/v1/agreements/example", json!({"publisher_bp": 8000}), &operator),
        (Method::GET, "/v1/plugins/com.example.recipe-service/dead-letters", Value::Null, &operator),
        (Method::POST, "/v1/events", json!({"topic": "appliance.fridge.door", "body": {"state": "open"}}), &device),
        (Method::GET, "/v1/commands", Value::Null, &device),
        (Method::GET, "/v1/me/notifications", Value::Null, &user),
        (Method::GET, "/v1/me/offers", Value::Null, &user),
        (Method::GET, "/v1/partner/plugins", Value::Null, &partner),
        (Method::GET, "/v1/partner/statements/2026-11", Value::Null, &partner),
    ];
    for (method, path, body, owner) in &routes {
        for (label, token) in
            [("no token", None), ("unknown token", Some("hth_forged")), ("revoked token", Some(revoked.as_str()))]
        {
            let (status, response) = api.json(method.clone(), path, token, body.clone()).await;
            assert_eq!(
                (status, error_code(&response)),
                (StatusCode::UNAUTHORIZED, "unauthorized"),
                "{label} on {method} {path}"
            );
        }
        for other in [&operator, &device, &user, &partner] {
            if other != *owner {
                let (status, response) = api.json(method.clone(), path, Some(other), body.clone()).await;
                assert_eq!(
                    (status, error_code(&response)),
                    (StatusCode::FORBIDDEN, "forbidden"),
                    "{method} {path}: {response}"
                );
            }
        }
        let (status, response) = api.json(method.clone(), path, Some(owner), body.clone()).await;
        assert!(status.is_success(), "{method} {path} for its owner: {status} {response}");
    }

    // Scope: another household's orders and another publisher's plugins are invisible.
    api.state.host.add_household("h2").unwrap();
    let neighbour = api.token(Role::User, "h2").await;
    let (status, _) = api
        .json(Method::POST, "/v1/me/orders/com.example.recipe-service/o1/confirm", Some(&neighbour), Value::Null)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let rival = api.token(Role::Partner, "rival").await;
    let (_, body) = api.json(Method::GET, "/v1/partner/plugins", Some(&rival), Value::Null).await;
    assert_eq!(body, json!({"plugins": []}));
    let (status, _) = api
        .json(Method::GET, "/v1/partner/plugins/com.example.recipe-service/dead-letters", Some(&rival), Value::Null)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, body) = api.json(Method::GET, "/v1/partner/statements/2026-11", Some(&rival), Value::Null).await;
    assert_eq!(body["entries"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_its_status_and_nothing_is_stored() {
    let (api, [operator, device, _user, partner]) = populated().await;
    let raw = |path: &str, token: &str, body: &'static [u8]| {
        let api = &api;
        let path = path.to_owned();
        let token = token.to_owned();
        async move { api.send(Method::POST, &path, Some(&token), Body::from(body), "application/json").await }
    };
    let (status, body) = raw("/v1/households", &operator, b"{\"id\": ").await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "bad_request"));
    let (status, body) = raw("/v1/households", &operator, b"{\"id\": 42}").await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));
    let (status, body) =
        api.send(Method::POST, "/v1/households", Some(&operator), Body::from("{}"), "text/plain").await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));
    let (status, body) = api.json(Method::POST, "/v1/households", Some(&operator), json!({"id": "bad id!"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));

    let oversize = Body::from(vec![b' '; (1 << 20) + 1]);
    let (status, body) = api.send(Method::POST, "/v1/events", Some(&device), oversize, "application/json").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (status, body) = raw("/v1/events", &device, b"[{\"topic\": \"appliance.toaster.pop\", \"body\": {}}]").await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));
    assert!(body["error"]["events"][0]["reason"].as_str().unwrap().contains("unknown topic"), "{body}");
    let (status, body) = raw("/v1/events", &device, b"\xff\xfe").await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "bad_request"));
    assert_eq!(api.state.host.lag().unwrap(), 0, "nothing was stored");
    let stray = api.token(Role::Device, "not-registered").await;
    let (status, _) = api
        .json(
            Method::POST,
            "/v1/events",
            Some(&stray),
            json!({"topic": "appliance.fridge.door", "body": {"state": "open"}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, body) = api.install(&operator, "[plugin]\nid = \"x\"", b"\0asm".to_vec()).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_manifest"), "{body}");
    let manifest = std::fs::read_to_string(hearth_test_components::RECIPE_SERVICE_MANIFEST).unwrap();
    let (status, body) = api.install(&operator, &manifest, b"not wasm at all".to_vec()).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_component"), "{body}");
    let (status, body) = api.json(Method::GET, "/v1/plugins/com.nobody.nothing", Some(&operator), Value::Null).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, _) =
        api.json(Method::PUT, "/v1/plugins/com.nobody.nothing/config/k", Some(&operator), json!({"value": "v"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.json(Method::POST, "/v1/tokens", Some(&operator), json!({"role": "device"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a device token needs a scope");
    let (status, _) = api.json(Method::GET, "/v1/partner/statements/november", Some(&partner), Value::Null).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = api.json(Method::GET, "/v1/nowhere", None, Value::Null).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    assert_eq!(api.state.host.plugins().len(), 1, "refused installs left nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_disable_enable_and_remove_plugins_and_every_action_is_audited() {
    let (api, [operator, device, user, _partner]) = populated().await;
    let plugin = "com.example.recipe-service";
    let grant = json!({"device_kinds": ["fridge"], "devices": []});
    api.json(Method::PUT, &format!("/v1/me/grants/{plugin}"), Some(&user), grant).await;
    let event = |id: &str| {
        json!({"id": id, "topic": "appliance.fridge.inventory",
        "body": {"item": "egg", "action": "added", "quantity": {"amount": 1, "unit": "pieces"}}})
    };

    let (status, body) =
        api.json(Method::POST, &format!("/v1/plugins/{plugin}/disable"), Some(&operator), Value::Null).await;
    assert_eq!((status, &body["was_running"]), (StatusCode::OK, &json!(true)));
    let (_, body) = api.json(Method::GET, "/v1/plugins", Some(&operator), Value::Null).await;
    assert_eq!((body["plugins"].as_array().unwrap().len(), &body["disabled"]), (0, &json!([plugin])));
    // While disabled, events wait in the log and its services are gone.
    api.json(Method::POST, "/v1/events", Some(&device), event("while-disabled")).await;
    let (status, _) = api.json(Method::POST, "/v1/services/recipes/suggest", Some(&user), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(api.state.host.lag().unwrap(), 1);

    let (status, _) =
        api.json(Method::POST, &format!("/v1/plugins/{plugin}/enable"), Some(&operator), Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    wait_until("the waiting event is delivered", || async { api.state.host.lag().unwrap() == 0 }).await;
    assert_eq!(api.state.host.status(plugin).unwrap().delivered, 1);

    let (status, body) = api.json(Method::DELETE, &format!("/v1/plugins/{plugin}"), Some(&operator), Value::Null).await;
    assert_eq!((status, &body["erased_entries"]), (StatusCode::OK, &json!(1)), "its kv data goes with it");
    let (status, _) = api.json(Method::GET, &format!("/v1/plugins/{plugin}"), Some(&operator), Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        api.json(Method::POST, &format!("/v1/plugins/{plugin}/enable"), Some(&operator), Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Its cursors are gone too, so nothing holds the log back.
    api.json(Method::POST, "/v1/events", Some(&device), event("after-removal")).await;
    assert_eq!(api.state.host.lag().unwrap(), 0);

    api.json(Method::PUT, "/v1/plugins/x.y.z/config/secret", Some(&operator), json!({"value": "hunter2"})).await;
    let (_, body) = api.json(Method::GET, "/v1/audit", Some(&operator), Value::Null).await;
    let actions: Vec<&str> =
        body["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    // Attempts are recorded before they are carried out, so refused ones show too.
    assert_eq!(
        actions,
        [
            "plugin.config",
            "plugin.enable",
            "plugin.remove",
            "plugin.enable",
            "plugin.disable",
            "device.add",
            "household.add",
            "plugin.install"
        ]
    );
    assert!(!body.to_string().contains("hunter2"), "config values are never recorded");
    assert!(!body.to_string().contains(&operator), "tokens are recorded by id only");
    let (status, _) = api.json(Method::GET, "/v1/audit", Some(&user), Value::Null).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_carry_ids_and_each_token_is_rate_limited() {
    let api = Api::new().await;
    let limited = api.state.clone().with_rate_limit(hearth_server::RateLimit { per_second: 1.0, burst: 3.0 });
    let router = app(limited);
    let user = api.token(Role::User, "h1").await;
    let other = api.token(Role::User, "h2").await;
    let request = |token: &str, id: Option<&str>| {
        let mut builder = Request::get("/v1/me/offers").header("authorization", format!("Bearer {token}"));
        if let Some(id) = id {
            builder = builder.header("x-request-id", id);
        }
        builder.body(Body::empty()).unwrap()
    };

    let response = router.clone().oneshot(request(&user, Some("req-42"))).await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-42", "a caller's id is echoed");
    let response = router.clone().oneshot(request(&user, None)).await.unwrap();
    let assigned = response.headers()["x-request-id"].clone();
    assert!(!assigned.is_empty(), "one is assigned otherwise");

    let response = router.clone().oneshot(request(&user, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the third request is within the burst");
    assert_ne!(response.headers()["x-request-id"], assigned, "each assigned id is new");
    let response = router.clone().oneshot(request(&user, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "1");
    let response = router.clone().oneshot(request(&other, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "limits are per token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route_the_router_serves() {
    let api = Api::new().await;
    let (status, document) = api.json(Method::GET, "/v1/openapi.json", None, Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document, serde_json::to_value(hearth_server::openapi()).unwrap());
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        let concrete: String =
            path.split('/').map(|part| if part.starts_with('{') { "x" } else { part }).collect::<Vec<_>>().join("/");
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (status, body) = api.json(method.clone(), &concrete, None, Value::Null).await;
            let fallback = status == StatusCode::NOT_FOUND && body["error"]["message"] == "no such route";
            assert!(!fallback, "{method} {path} is documented but not served");
            let documented_errors = item[method.as_str().to_lowercase()]["responses"].as_object().unwrap();
            assert!(!documented_errors.is_empty());
        }
    }
    // Routes are only registered through the documented router: the count is every
    // handler, and an undocumented path falls through.
    assert_eq!(operations, 60);
    // Every authenticated route documents 401 and 403, and every answer with a body
    // has its schema.
    let open = ["/healthz", "/readyz", "/metrics", "/v1/openapi.json"];
    // Answers with no JSON body of their own: text, the provider's JSON, or nothing.
    let untyped = [
        "get /healthz",
        "get /readyz",
        "get /metrics",
        "get /v1/openapi.json",
        "post /v1/services/{service}/{operation}",
        "post /v1/households",
        "post /v1/devices",
    ];
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            if !open.contains(&path.as_str()) {
                assert!(responses.contains_key("401") && responses.contains_key("403"), "{method} {path}");
            }
            for (status, response) in responses {
                if status.starts_with('2') && status != "204" && !untyped.contains(&format!("{method} {path}").as_str())
                {
                    assert!(response.get("content").is_some(), "{method} {path} {status} has no schema");
                }
            }
        }
    }
    assert!(document["components"]["schemas"]["PluginView"]["properties"]["status"].is_object());
    let (status, body) = api.json(Method::GET, "/v1/undocumented", None, Value::Null).await;
    assert_eq!((status, body["error"]["message"].as_str()), (StatusCode::NOT_FOUND, Some("no such route")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_remaining_routes_do_what_they_say() {
    let (api, [operator, device, user, partner]) = populated().await;
    let plugin = "com.example.recipe-service";

    // The same version with other bytes is a conflict; the same bytes again are fine.
    let manifest = std::fs::read_to_string(hearth_test_components::RECIPE_SERVICE_MANIFEST).unwrap();
    let (status, body) =
        api.install(&operator, &manifest, hearth_test_components::read(hearth_test_components::HOSTILE_PLUGIN)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "conflict"), "{body}");
    let (status, _) =
        api.install(&operator, &manifest, hearth_test_components::read(hearth_test_components::RECIPE_SERVICE)).await;
    assert_eq!(status, StatusCode::CREATED);

    let (_, body) = api.json(Method::GET, "/v1/me/devices", Some(&user), Value::Null).await;
    assert_eq!(body["devices"][0]["id"], "fridge-1");

    // Grant, then a dead letter through the household's consent, re-driven by the operator.
    let grant = json!({"device_kinds": ["fridge"], "devices": []});
    api.json(Method::PUT, &format!("/v1/me/grants/{plugin}"), Some(&user), grant).await;
    let (status, _) = api
        .json(Method::PUT, &format!("/v1/plugins/{plugin}/config/unused"), Some(&operator), json!({"value": "x"}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = api.json(Method::POST, &format!("/v1/plugins/{plugin}/resume"), Some(&operator), Value::Null).await;
    assert_eq!(body, json!({"was_quarantined": false}));
    let (status, _) = api
        .json(Method::POST, &format!("/v1/plugins/{plugin}/dead-letters/1/redrive"), Some(&operator), Value::Null)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no dead letter 1");
    let (_, body) =
        api.json(Method::GET, &format!("/v1/partner/plugins/{plugin}/dead-letters"), Some(&partner), Value::Null).await;
    assert_eq!(body, json!({"dead_letters": []}), "a partner reads its own plugin's dead letters");

    let event = json!({"id": "x1", "topic": "appliance.fridge.door", "body": {"state": "open"}});
    api.json(Method::POST, "/v1/events", Some(&device), event.clone()).await;
    api.json(Method::POST, "/v1/events", Some(&device), event).await;
    let (_, metrics) = api.json(Method::GET, "/metrics", None, Value::Null).await;
    assert!(metrics.as_str().unwrap().contains("hearth_events_ingested_total 1\n"), "duplicates are not counted");

    let (status, _) = api.json(Method::DELETE, &format!("/v1/me/grants/{plugin}"), Some(&user), Value::Null).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api.json(Method::DELETE, &format!("/v1/me/grants/{plugin}"), Some(&user), Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing left to revoke");
    let (status, _) =
        api.json(Method::POST, &format!("/v1/me/orders/{plugin}/none/decline"), Some(&user), Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.json(Method::GET, "/readyz", None, Value::Null).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_grant_part_of_what_a_plugin_requests_and_tighten_its_limits() {
    let (api, [operator, _device, user, _partner]) = populated().await;
    let plugin = "com.example.recipe-service";
    api.json(
        Method::PUT,
        &format!("/v1/me/grants/{plugin}"),
        Some(&user),
        json!({"device_kinds": ["fridge"], "devices": []}),
    )
    .await;
    let grants = |body: Value| {
        let api = &api;
        let operator = operator.clone();
        async move { api.json(Method::PUT, &format!("/v1/plugins/{plugin}/grants"), Some(&operator), body).await }
    };

    let (status, body) = grants(json!({"kv": true, "notify": true, "commerce": true})).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        "commerce was not requested: {body}"
    );
    // The recipe service imports notify: withheld, it still runs (its notify calls are
    // refused with `not-granted`), and the grant comes back.
    let (status, body) = grants(json!({"kv": true})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["capabilities"]["notify"], false, "{body}");
    let (status, _) = api.json(Method::POST, "/v1/services/recipes/suggest", Some(&user), json!({})).await;
    assert_eq!(status, StatusCode::OK, "still serving without notify");
    let (status, body) = grants(json!({"kv": true, "notify": true})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["capabilities"]["notify"], true, "{body}");

    let (status, body) = api
        .json(
            Method::PUT,
            &format!("/v1/plugins/{plugin}/limits"),
            Some(&operator),
            json!({"memory_mb": 8, "timeout_ms": 50}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["limits"]["memory_bytes"], 8 << 20);
    assert_eq!(body["limits"]["event_timeout_ms"], 50);
    let (status, _) = api.json(Method::POST, "/v1/services/recipes/suggest", Some(&user), json!({})).await;
    assert_eq!(status, StatusCode::OK, "runs under the new limits");
    let (status, _) =
        api.json(Method::PUT, &format!("/v1/plugins/{plugin}/limits"), Some(&operator), json!({"memory_mb": 0})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "limits are validated like the manifest's");

    // Above the host's caps (64 MiB, 100 ms, 500 ms, 8 instances by default): refused,
    // naming the cap, and the plugin keeps the limits it had.
    for (body, named) in [
        (json!({"memory_mb": 65}), "memory_mb 65 is above this host's cap of 64 MiB"),
        (json!({"timeout_ms": 101}), "timeout_ms 101 is above this host's cap of 100 ms"),
        (json!({"service_timeout_ms": 501}), "service_timeout_ms 501 is above this host's cap of 500 ms"),
        (json!({"memory_mb": 8, "concurrency": 9}), "concurrency 9 is above this host's cap of 8 instances"),
    ] {
        let (status, answer) =
            api.json(Method::PUT, &format!("/v1/plugins/{plugin}/limits"), Some(&operator), body.clone()).await;
        assert_eq!((status, error_code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "{body}: {answer}");
        assert_eq!(answer["error"]["message"], named, "{body}");
    }
    let (_, view) = api.json(Method::GET, &format!("/v1/plugins/{plugin}"), Some(&operator), Value::Null).await;
    assert_eq!(
        (view["limits"]["memory_bytes"].as_u64(), view["limits"]["event_timeout_ms"].as_u64()),
        (Some(8 << 20), Some(50))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_packages_signed_by_a_trusted_key_are_installed() {
    let api = Api::new().await;
    let operator = api.token(Role::Operator, "").await;
    let manifest = std::fs::read_to_string(hearth_test_components::RECIPE_SERVICE_MANIFEST).unwrap();
    let component = hearth_test_components::read(hearth_test_components::RECIPE_SERVICE);
    let publisher_key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let stranger_key = ed25519_dalek::SigningKey::from_bytes(&[8; 32]);
    let upload = |package: Vec<u8>| {
        let api = &api;
        let operator = operator.clone();
        async move {
            let (status, body) = api
                .send(
                    Method::POST,
                    "/v1/packages",
                    Some(&operator),
                    Body::from(package),
                    "application/vnd.hearth.package",
                )
                .await;
            (status, body["error"]["code"].as_str().unwrap_or_default().to_owned(), body)
        }
    };
    let signed =
        |key: &ed25519_dalek::SigningKey| hearth_package::Package::build(&manifest, &component, Some(key)).unwrap();

    let (status, code, body) = upload(signed(&publisher_key)).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "untrusted_package"), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("not in the trust store"), "{body}");

    let public = hex::encode(publisher_key.verifying_key().as_bytes());
    let (status, _) = api.json(Method::POST, "/v1/trust/example", Some(&operator), json!({"key": public})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = api.json(Method::POST, "/v1/trust/example", Some(&operator), json!({"key": "zz"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, trusted) = api.json(Method::GET, "/v1/trust", Some(&operator), Value::Null).await;
    assert_eq!(trusted["example"], json!([public]));

    let (status, _, body) = upload(signed(&stranger_key)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["error"]["message"].as_str().unwrap().contains("not a trusted key of publisher"), "{body}");
    let unsigned = hearth_package::Package::build(&manifest, &component, None).unwrap();
    let (status, _, body) = upload(unsigned).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["error"]["message"].as_str().unwrap().contains("not signed"), "{body}");

    // Tampering: flip a byte of the component inside a signed package.
    let mut tampered = signed(&publisher_key);
    let at = tampered.windows(component.len().min(64)).position(|window| window == &component[..64]).unwrap() + 40;
    tampered[at] ^= 0xff;
    let (status, _, body) = upload(tampered).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["error"]["message"].as_str().unwrap().contains("tampered"), "{body}");
    let (status, code, _) = upload(b"not a package".to_vec()).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_package"));
    let (status, body) = api.install_unsigned(&operator, &manifest, component.clone()).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "untrusted_package"), "without the dev flag");
    assert!(api.state.host.plugins().is_empty(), "nothing refused was installed");

    // Verify shows what the package asks for, then install.
    let (status, shown) = api
        .send(
            Method::POST,
            "/v1/packages/verify",
            Some(&operator),
            Body::from(signed(&publisher_key)),
            "application/octet-stream",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(
        (shown["id"].as_str(), shown["signed_by"].as_str()),
        (Some("com.example.recipe-service"), Some(public.as_str()))
    );
    assert_eq!(shown["capabilities"]["kv"], true);
    assert!(shown["installed_version"].is_null());
    assert_eq!(shown["warnings"], json!([]), "every subscription can match");
    // A subscription no event can match is shown to the operator before installing.
    let typo = manifest.replacen("topics = [", "topics = [\"appliance.fridg.door\", ", 1);
    assert_ne!(typo, manifest);
    let package = hearth_package::Package::build(&typo, &component, Some(&publisher_key)).unwrap();
    let (status, shown) = api
        .send(Method::POST, "/v1/packages/verify", Some(&operator), Body::from(package), "application/octet-stream")
        .await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    let warning = shown["warnings"][0].as_str().unwrap_or_default();
    assert!(warning.contains("\"appliance.fridg.door\" matches no event"), "{shown}");
    let (status, _, body) = upload(signed(&publisher_key)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["version"], "0.1.0");

    // An upgrade keeps the old version for a rollback.
    let upgraded = manifest.replace("version = \"0.1.0\"", "version = \"0.2.0\"");
    let package = hearth_package::Package::build(&upgraded, &component, Some(&publisher_key)).unwrap();
    let (status, _, body) = upload(package).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((body["version"].as_str(), body["upgraded_from"].as_str()), (Some("0.2.0"), Some("0.1.0")));
    assert_eq!(body["rollback_to"], "0.1.0");
    let (status, body) =
        api.json(Method::POST, "/v1/plugins/com.example.recipe-service/rollback", Some(&operator), Value::Null).await;
    assert_eq!((status, body["version"].as_str()), (StatusCode::OK, Some("0.1.0")), "{body}");
    let (status, _) = api.json(Method::POST, "/v1/plugins/com.nobody.x/rollback", Some(&operator), Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) =
        api.json(Method::DELETE, &format!("/v1/trust/example/{public}"), Some(&operator), Value::Null).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = upload(signed(&publisher_key)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a distrusted key signs nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_flag_allows_unsigned_uploads() {
    let api =
        Api::with_config(hearth_host::HostConfig { dev_allow_unsigned_packages: true, ..Default::default() }).await;
    let operator = api.token(Role::Operator, "").await;
    let manifest = std::fs::read_to_string(hearth_test_components::NOOP_PLUGIN_MANIFEST).unwrap();
    let component = hearth_test_components::read(hearth_test_components::NOOP_PLUGIN);
    let (status, body) = api.install_unsigned(&operator, &manifest, component.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let unsigned = hearth_package::Package::build(&manifest, &component, None).unwrap();
    let (status, body) = api
        .send(Method::POST, "/v1/packages", Some(&operator), Body::from(unsigned), "application/vnd.hearth.package")
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A development server lets the operator read a plugin's kv data (the test
    // harness asserts on it); nobody else, and no production server.
    let (status, body) = api.json(Method::GET, "/v1/plugins/bench.hearth.noop/kv", Some(&operator), Value::Null).await;
    assert_eq!((status, &body["keys"]), (StatusCode::OK, &json!([])), "{body}");
    let path = "/v1/plugins/bench.hearth.noop/kv/value?key=a%2Fb&household=h9";
    let (status, body) = api.json(Method::GET, path, Some(&operator), Value::Null).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"), "{body}");
    let partner = api.token(Role::Partner, "test").await;
    let (status, _) = api.json(Method::GET, "/v1/plugins/bench.hearth.noop/kv", Some(&partner), Value::Null).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (production, [operator, ..]) = populated().await;
    let recipes = "/v1/plugins/com.example.recipe-service/kv?prefix=";
    let (status, body) = production.json(Method::GET, recipes, Some(&operator), Value::Null).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_their_documented_errors_and_nothing_is_stored() {
    let (api, [operator, device, user, partner]) = populated().await;
    let lag = api.state.host.lag().unwrap();

    // Expired tokens are refused like unknown ones; a nonsensical lifetime is invalid.
    let (_, short) =
        api.state.tokens.create_expiring(Role::User, "h1", Some(std::time::Duration::from_millis(1))).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (status, body) = api.json(Method::GET, "/v1/me/notifications", Some(&short), Value::Null).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    assert!(body["error"]["message"].as_str().unwrap().contains("expired"), "{body}");
    let (status, _) =
        api.json(Method::POST, "/v1/tokens", Some(&operator), json!({"role": "user", "scope": "h1", "ttl_s": 0})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = api
        .json(Method::POST, "/v1/tokens", Some(&operator), json!({"role": "user", "scope": "h1", "ttl_s": 60}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(body["expires_ms"].as_u64().unwrap() > hearth_host::clock::now_ms());

    // Path and id injection in route parameters finds nothing and breaks nothing.
    let probes = [
        (Method::GET, "/v1/plugins/..%2F..%2Fetc%2Fpasswd", operator.as_str(), StatusCode::NOT_FOUND),
        (
            Method::GET,
            "/v1/plugins/com.example.recipe-service%00/dead-letters",
            operator.as_str(),
            StatusCode::NOT_FOUND,
        ),
        (Method::DELETE, "/v1/tokens/%2A", operator.as_str(), StatusCode::NOT_FOUND),
        (
            Method::POST,
            "/v1/plugins/..%2Fcom.example.recipe-service/rollback",
            operator.as_str(),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::POST,
            "/v1/me/orders/..%2Fcom.example.recipe-service/o1/confirm",
            user.as_str(),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/v1/partner/plugins/com.example.recipe-service%2F..%2Fx/dead-letters",
            partner.as_str(),
            StatusCode::NOT_FOUND,
        ),
        (Method::GET, "/v1/partner/statements/2026-11%2F..", partner.as_str(), StatusCode::BAD_REQUEST),
    ];
    for (method, path, token, expected) in probes {
        let (status, body) = api.json(method.clone(), path, Some(token), Value::Null).await;
        assert_eq!(status, expected, "{method} {path}: {body}");
        assert!(body["error"]["code"].is_string(), "{method} {path}: the documented error shape");
    }
    let key = hex::encode(ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key().as_bytes());
    let (status, _) = api.json(Method::POST, "/v1/trust/..%2Fevil", Some(&operator), json!({"key": key})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a publisher name is a name");

    // Values out of range, per event.
    let hot_oven = json!({"topic": "appliance.oven.state", "body": {"state": "running", "mode": "bake", "setpoint_centi_celsius": 90000}});
    let (status, body) = api.json(Method::POST, "/v1/events", Some(&device), hot_oven).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));
    assert!(body["error"]["events"][0]["reason"].as_str().unwrap().contains("setpoint_centi_celsius"), "{body}");

    // Bad components and packages over HTTP.
    let manifest = std::fs::read_to_string(hearth_test_components::RECIPE_SERVICE_MANIFEST).unwrap();
    let core_module = b"\0asm\x01\0\0\0".to_vec();
    let other_world = hearth_test_components::read(hearth_test_components::OTHER_WORLD);
    for (component, reason) in
        [(core_module, "not a WebAssembly component"), (other_world, "exports no hearth:plugin/handler")]
    {
        let (status, body) = api.install(&operator, &manifest, component).await;
        assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_component"));
        assert!(body["error"]["message"].as_str().unwrap().contains(reason), "{body}");
    }
    let oversize = Body::from(vec![
        0u8;
        hearth_host::runtime::component::DEFAULT_MAX_COMPONENT_BYTES
            + hearth_package::package::PACKAGE_OVERHEAD_BYTES
            + 1
    ]);
    let (status, _) =
        api.send(Method::POST, "/v1/packages", Some(&operator), oversize, "application/octet-stream").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, body) = api
        .send(Method::POST, "/v1/packages", Some(&operator), Body::from(vec![0xffu8; 2048]), "application/octet-stream")
        .await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_package"));

    // Nothing of it was stored.
    assert_eq!(api.state.host.lag().unwrap(), lag);
    assert_eq!(api.state.host.plugins().len(), 1);
    assert_eq!(api.state.host.plugins()[0].manifest.plugin.version.to_string(), "0.1.0");
    assert!(api.state.host.trust_store().list().unwrap().keys().all(|publisher| publisher == "example"));
}

/// The operator ranks the providers of an operation, a household picks its own, over
/// HTTP; neither can set the other's, and only installed plugins can be preferred.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rankings_and_preferences_choose_the_provider() {
    let api = Api::new().await;
    let host = &api.state.host;
    host.add_household("h1").unwrap();
    host.add_device(hearth_host::households::Device {
        id: "fridge-1".into(),
        household: "h1".into(),
        kind: "fridge".into(),
        model: "m".into(),
        region: "DE".into(),
    })
    .unwrap();
    let grant = hearth_host::households::Grant { device_kinds: ["fridge".into()].into(), ..Default::default() };
    for (id, name) in [("test.hearth.probe", "a"), ("test.hearth.probe-b", "b")] {
        let mut manifest = manifest(hearth_test_components::PROBE_PLUGIN_MANIFEST);
        manifest.plugin.id = id.into();
        host.install(manifest, hearth_test_components::read(hearth_test_components::PROBE_PLUGIN)).await.unwrap();
        host.grant("h1", id, &grant).await.unwrap();
        host.set_config(id, "name", name).await.unwrap();
    }
    let (operator, user) = (api.token(Role::Operator, "").await, api.token(Role::User, "h1").await);
    let device = api.token(Role::Device, "fridge-1").await;
    let whoami =
        async || api.json(Method::POST, "/v1/services/probe/whoami", Some(&device), json!({})).await.1["ok"].clone();
    assert_eq!(whoami().await, "a", "by plugin id");

    let ranking = json!({"plugins": ["test.hearth.probe-b", "test.hearth.probe"]});
    let (status, _) = api.json(Method::PUT, "/v1/services/probe/whoami/ranking", Some(&user), ranking.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a household cannot rank for everybody");
    let (status, _) = api.json(Method::PUT, "/v1/services/probe/whoami/ranking", Some(&operator), ranking).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(whoami().await, "b", "the operator's ranking");

    let prefer = |plugin: &str| json!({"plugin": plugin});
    let (status, _) =
        api.json(Method::PUT, "/v1/me/preferences/probe/whoami", Some(&operator), prefer("test.hearth.probe")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "preferences are the household's");
    let (status, _) =
        api.json(Method::PUT, "/v1/me/preferences/probe/whoami", Some(&user), prefer("com.nowhere.plugin")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        api.json(Method::PUT, "/v1/me/preferences/probe/whoami", Some(&user), prefer("test.hearth.probe")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(whoami().await, "a", "the household's preference beats the ranking");
    let audit = api.json(Method::GET, "/v1/audit", Some(&operator), Value::Null).await.1;
    assert!(audit["entries"].as_array().unwrap().iter().any(|entry| entry["action"] == "service.ranking"), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_token_learns_its_own_role_and_scope_and_nothing_else() {
    let (api, [operator, device, user, partner]) = populated().await;
    for (token, role, scope) in [
        (&operator, "operator", ""),
        (&device, "device", "fridge-1"),
        (&user, "user", "h1"),
        (&partner, "partner", "example"),
    ] {
        let (status, body) = api.json(Method::GET, "/v1/session", Some(token), Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!((body["role"].as_str(), body["scope"].as_str()), (Some(role), Some(scope)), "{body}");
        assert!(body["token_id"].as_str().unwrap().starts_with("tok-"), "{body}");
        assert!(!body.to_string().contains(token.as_str()), "the secret is never echoed: {body}");
    }
    for token in [None, Some("not-a-token")] {
        let (status, body) = api.json(Method::GET, "/v1/session", token, Value::Null).await;
        assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_households_agreements_statements_and_plugin_meters() {
    let (api, [operator, device, _, partner]) = populated().await;
    let (_, body) = api.json(Method::POST, "/v1/households", Some(&operator), json!({"id": "h2"})).await;
    assert!(body.is_null() || body.is_object() || body.is_string(), "{body}");
    let (status, body) = api.json(Method::GET, "/v1/households", Some(&operator), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["households"][0]["id"], "h1", "{body}");
    assert_eq!(body["households"][0]["devices"][0]["id"], "fridge-1", "{body}");
    assert_eq!(body["households"][1], json!({"id": "h2", "devices": []}), "{body}");

    let (status, _) =
        api.json(Method::PUT, "/v1/agreements/example", Some(&operator), json!({"publisher_bp": 7250})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = api.json(Method::GET, "/v1/agreements", Some(&operator), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["agreements"], json!([{"publisher": "example", "publisher_bp": 7250}]), "{body}");
    assert!(body["default_bp"].as_u64().unwrap() <= 10_000, "{body}");

    let (status, body) = api.json(Method::GET, "/v1/statements/example/2026-12", Some(&operator), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["publisher"].as_str(), body["month"].as_str()), (Some("example"), Some("2026-12")));
    for month in ["2026-13", "26-01", "1969-12", "2026-1"] {
        let (status, body) =
            api.json(Method::GET, &format!("/v1/statements/example/{month}"), Some(&operator), Value::Null).await;
        assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "bad_request"), "{month}: {body}");
    }

    // Meters: events handled by the recipe service show in its counters and histogram.
    let user = api.token(Role::User, "h1").await;
    let grant = json!({"device_kinds": ["fridge"], "devices": [], "control": false});
    let (status, _) = api.json(Method::PUT, "/v1/me/grants/com.example.recipe-service", Some(&user), grant).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let events: Vec<Value> = (0..5)
        .map(|n| {
            json!({"id": format!("e{n}"), "topic": "appliance.fridge.inventory", "time_ms": now,
            "body": {"item": "egg", "action": "added", "quantity": {"amount": 1, "unit": "pieces"}}})
        })
        .collect();
    let (status, body) = api.json(Method::POST, "/v1/events", Some(&device), Value::Array(events)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let meter = loop {
        let (status, body) = api.json(Method::GET, "/v1/metrics/plugins", Some(&operator), Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(std::time::Instant::now() < deadline, "the five events were not counted: {body}");
        let meter = body["plugins"][0].clone();
        if meter["delivered"] == 5 {
            assert!(body["time_ms"].as_u64().unwrap() > 1_700_000_000_000, "{body}");
            break meter;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(meter["id"], "com.example.recipe-service");
    let calls = &meter["event_calls"];
    let counted: u64 = calls["counts"].as_array().unwrap().iter().map(|count| count.as_u64().unwrap()).sum();
    assert!((1..=5).contains(&counted), "one call per batch, at most one per event: {meter}");
    assert_eq!(calls["counts"].as_array().unwrap().len(), calls["bounds_s"].as_array().unwrap().len() + 1);

    for path in ["/v1/households", "/v1/agreements", "/v1/statements/example/2026-12", "/v1/metrics/plugins"] {
        for token in [&device, &user, &partner] {
            let (status, body) = api.json(Method::GET, path, Some(token), Value::Null).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_views_show_the_grants_and_limits_a_plugin_runs_under() {
    let (api, [operator, _, _, partner]) = populated().await;
    // What it requests, granted again (it uses both, so neither can be withheld).
    let grants = json!({"kv": true, "notify": true, "commerce": false, "devices": [], "http": []});
    let (status, body) =
        api.json(Method::PUT, "/v1/plugins/com.example.recipe-service/grants", Some(&operator), grants.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let limits = json!({"memory_mb": 32, "timeout_ms": 80, "service_timeout_ms": 300, "concurrency": 1});
    let (status, body) =
        api.json(Method::PUT, "/v1/plugins/com.example.recipe-service/limits", Some(&operator), limits).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, operators) =
        api.json(Method::GET, "/v1/plugins/com.example.recipe-service", Some(&operator), Value::Null).await;
    let (_, partners) = api.json(Method::GET, "/v1/partner/plugins", Some(&partner), Value::Null).await;
    for view in [&operators, &partners["plugins"][0]] {
        assert_eq!(view["capabilities"], grants, "{view}");
        assert_eq!(
            view["limits"],
            json!({"memory_bytes": 32 << 20, "event_timeout_ms": 80, "service_timeout_ms": 300, "concurrency": 1}),
            "{view}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_is_served_with_a_strict_policy_and_no_token() {
    let api = Api::new().await;
    let response =
        api.router.clone().oneshot(Request::builder().uri("/console/").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the console is not built into this binary: run `cargo xtask console` before the tests"
    );
    let headers = response.headers().clone();
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    let policy = headers["content-security-policy"].to_str().unwrap();
    for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let page = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    // Every script and stylesheet the page names is served from here, and none is inline.
    assert!(page.contains(r#"src="/console/app.js""#) && page.contains(r#"href="/console/app.css""#), "{page}");
    assert!(!page.contains("<script>") && !page.contains("<style") && !page.contains("http"), "{page}");
    for (path, kind) in [("/console/app.js", "text/javascript"), ("/console/app.css", "text/css")] {
        let response =
            api.router.clone().oneshot(Request::builder().uri(path).body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with(kind), "{path}");
    }
    let (status, body) = api.json(Method::GET, "/console/../v1/plugins", None, Value::Null).await;
    assert_ne!(status, StatusCode::OK, "{body}");
    let (status, body) = api.json(Method::GET, "/console/missing.js", None, Value::Null).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let response =
        api.router.clone().oneshot(Request::builder().uri("/console").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.headers()["location"], "/console/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_routes_install_exactly_the_package_that_was_reviewed() {
    // A real registry on loopback with 0.1.0 of the recipe service published.
    let registry_dir = tempfile::tempdir().unwrap();
    let db = sled::open(registry_dir.path().join("db")).unwrap();
    let registry = hearth_registry::server::RegistryState::open(&db).unwrap();
    registry.set_admin_token("admin").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hearth_registry::server::app(registry)).await });
    let key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
    let public = hex::encode(key.verifying_key().as_bytes());
    let manifest = std::fs::read_to_string(hearth_test_components::RECIPE_SERVICE_MANIFEST).unwrap();
    let component = hearth_test_components::read(hearth_test_components::RECIPE_SERVICE);
    let package = hearth_package::Package::build(&manifest, &component, Some(&key)).unwrap();
    let client = std::sync::Arc::new(hearth_registry_client::Registry::new(&url));
    let published = {
        let (client, public, package) = (client.clone(), public.clone(), package.clone());
        tokio::task::spawn_blocking(move || {
            let publisher = client.register_publisher("admin", "example", &public).unwrap();
            client.publish(publisher["token"].as_str().unwrap(), package).unwrap()
        })
        .await
        .unwrap()
    };

    let dir = tempfile::tempdir().unwrap();
    let host = open_with(dir.path(), hearth_host::HostConfig::default()).await;
    let mut state = ApiState::new(host).unwrap();
    let router_without = app(state.clone());
    state.registry = Some(client);
    let api = Api { router: app(state.clone()), state, _dir: dir };
    let operator = api.token(Role::Operator, "").await;
    let choice = json!({"id": "com.example.recipe-service", "version": "0.1.0"});

    // Not yet trusted: the review refuses it like an upload would.
    let (status, body) = api.json(Method::POST, "/v1/registry/review", Some(&operator), choice.clone()).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "untrusted_package"), "{body}");
    api.state.host.trust_store().trust("example", &public).unwrap();

    let (status, record) =
        api.json(Method::GET, "/v1/registry/plugins/com.example.recipe-service", Some(&operator), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(record["versions"][0]["version"], "0.1.0");
    let (status, review) = api.json(Method::POST, "/v1/registry/review", Some(&operator), choice.clone()).await;
    assert_eq!(status, StatusCode::OK, "{review}");
    assert_eq!(review["package"], published.package.as_str(), "{review}");
    assert_eq!(review["installed_version"], Value::Null);
    assert!(api.state.host.plugins().is_empty(), "a review installs nothing");

    let mut other = choice.clone();
    other["package"] = json!("0".repeat(64));
    let (status, body) = api.json(Method::POST, "/v1/registry/install", Some(&operator), other).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "conflict"), "{body}");
    assert!(api.state.host.plugins().is_empty());

    let mut reviewed = choice.clone();
    reviewed["package"] = review["package"].clone();
    let (status, body) = api.json(Method::POST, "/v1/registry/install", Some(&operator), reviewed).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((body["version"].as_str(), &body["upgraded_from"]), (Some("0.1.0"), &Value::Null));
    let (_, audit) = api.json(Method::GET, "/v1/audit", Some(&operator), Value::Null).await;
    assert_eq!(audit["entries"][0]["action"], "plugin.install", "{audit}");

    for (body, status, code) in [
        (json!({"id": "com.example.recipe-service", "version": "9.9.9"}), StatusCode::NOT_FOUND, "not_found"),
        (json!({"id": "com.example.nothing", "version": "0.1.0"}), StatusCode::NOT_FOUND, "not_found"),
        (json!({"id": "com.example.recipe-service", "version": "one"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
    ] {
        let (got, answer) = api.json(Method::POST, "/v1/registry/review", Some(&operator), body.clone()).await;
        assert_eq!((got, error_code(&answer)), (status, code), "{body}: {answer}");
    }
    // Without --registry, the routes say so.
    let request = Request::builder()
        .uri("/v1/registry/plugins/com.example.recipe-service")
        .header("authorization", format!("Bearer {operator}"))
        .body(Body::empty())
        .unwrap();
    let response = router_without.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&bytes).contains("--registry"));
    // A registry that is down is a 502 in the API's shape.
    let mut down = api.state.clone();
    down.registry = Some(std::sync::Arc::new(hearth_registry_client::Registry::new("http://127.0.0.1:1")));
    let down = Api { router: app(down.clone()), state: down, _dir: tempfile::tempdir().unwrap() };
    let (status, body) =
        down.json(Method::GET, "/v1/registry/plugins/com.example.recipe-service", Some(&operator), Value::Null).await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_GATEWAY, "registry_error"), "{body}");
    drop(registry_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_component_is_the_operators_setting_for_upload_package_and_install() {
    let manifest = std::fs::read_to_string(hearth_test_components::RECIPE_SERVICE_MANIFEST).unwrap();
    let component = hearth_test_components::read(hearth_test_components::RECIPE_SERVICE);
    // The size of a Python plugin: over the old 16 MiB, under the default 32 MiB.
    let python_sized = hearth_test_components::padded(&component, 18 << 20);
    assert_eq!(python_sized.len(), 18 << 20);

    let api = Api::new().await;
    let operator = api.token(Role::Operator, "").await;
    let (status, body) = api.install(&operator, &manifest, python_sized.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // An operator who allows 16 MiB: the same package is refused, naming the setting,
    // and one over the upload limit does not even reach the handler.
    let config = hearth_host::HostConfig { max_component_bytes: 16 << 20, ..Default::default() };
    let api = Api::with_config(config).await;
    let operator = api.token(Role::Operator, "").await;
    let (status, body) =
        api.install(&operator, &manifest, hearth_test_components::padded(&component, (16 << 20) + (256 << 10))).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_package"), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("the limit is"), "{body}");
    let (status, body) = api.install(&operator, &manifest, python_sized).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (status, body) = api.install(&operator, &manifest, hearth_test_components::padded(&component, 15 << 20)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(api.state.host.plugins().len(), 1);
}
