//! The registry's HTTP API against a real sled database: ownership, immutability,
//! resolution, yanking and downloads, each refusal with its status.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use ed25519_dalek::SigningKey;
use hearth_package::Package;
use hearth_registry::server::{RegistryState, app};
use serde_json::{Value, json};
use tower::ServiceExt;

const ADMIN: &str = "admin-secret";

struct Registry {
    router: axum::Router,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path().join("db")).unwrap();
        let state = RegistryState::open(&db).unwrap();
        state.set_admin_token(ADMIN).unwrap();
        Registry { router: app(state), _dir: dir }
    }

    async fn send(&self, method: Method, path: &str, token: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(body))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        (status, axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec())
    }

    async fn json(&self, method: Method, path: &str, token: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let (status, bytes) = self.send(method, path, token, body).await;
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Registers a publisher with a key made from `seed`; returns its upload token.
    async fn publisher(&self, name: &str, seed: u8) -> String {
        let key = hex::encode(SigningKey::from_bytes(&[seed; 32]).verifying_key().as_bytes());
        let body = json!({"name": name, "key": key}).to_string().into_bytes();
        let (status, answer) = self.json(Method::POST, "/v1/publishers", ADMIN, body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        answer["token"].as_str().unwrap().to_owned()
    }
}

fn package(id: &str, version: &str, publisher: &str, seed: u8) -> Vec<u8> {
    let manifest =
        format!("[plugin]\nid = \"{id}\"\nversion = \"{version}\"\npublisher = \"{publisher}\"\napi = \"0.2\"\n");
    let component = hearth_test_components::read(hearth_test_components::NOOP_PLUGIN);
    Package::build(&manifest, &component, Some(&SigningKey::from_bytes(&[seed; 32]))).unwrap()
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error: {body}"))
}

#[tokio::test]
async fn ids_belong_to_their_first_publisher_and_versions_are_immutable() {
    let registry = Registry::new();
    let alice = registry.publisher("alice", 1).await;
    let bob = registry.publisher("bob", 2).await;
    let (status, body) = registry
        .json(Method::POST, "/v1/publishers", ADMIN, json!({"name": "alice", "key": "00"}).to_string().into_bytes())
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "not a key: {body}");
    let key = hex::encode(SigningKey::from_bytes(&[9; 32]).verifying_key().as_bytes());
    let (status, _) = registry
        .json(Method::POST, "/v1/publishers", ADMIN, json!({"name": "alice", "key": key}).to_string().into_bytes())
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "a name is registered once");

    let (status, body) =
        registry.json(Method::POST, "/v1/packages", &alice, package("com.alice.a", "1.0.0", "alice", 1)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) =
        registry.json(Method::POST, "/v1/packages", &alice, package("com.alice.a", "1.0.0", "alice", 1)).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "conflict"));
    let (status, body) =
        registry.json(Method::POST, "/v1/packages", &bob, package("com.alice.a", "2.0.0", "bob", 2)).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"), "bob cannot take alice's id");
    let (status, body) =
        registry.json(Method::POST, "/v1/packages", &bob, package("com.bob.b", "1.0.0", "alice", 1)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "bob cannot publish as alice: {body}");
    let (status, body) =
        registry.json(Method::POST, "/v1/packages", &bob, package("com.bob.b", "1.0.0", "bob", 1)).await;
    assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "signed with alice's key");
    let (status, _) =
        registry.json(Method::POST, "/v1/packages", "nobody", package("com.x.y", "1.0.0", "bob", 2)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = registry.json(Method::POST, "/v1/packages", &bob, b"garbage".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Yanking is the owner's; a yanked version is skipped but still downloadable.
    registry.json(Method::POST, "/v1/packages", &alice, package("com.alice.a", "1.1.0", "alice", 1)).await;
    let (status, _) = registry.json(Method::POST, "/v1/plugins/com.alice.a/1.1.0/yank", &bob, Vec::new()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, yanked) = registry.json(Method::POST, "/v1/plugins/com.alice.a/1.1.0/yank", &alice, Vec::new()).await;
    assert_eq!((status, &yanked["yanked"]), (StatusCode::OK, &json!(true)));
    let (status, resolved) =
        registry.json(Method::GET, "/v1/plugins/com.alice.a/resolve?req=%5E1", "", Vec::new()).await;
    assert_eq!((status, resolved["version"].as_str()), (StatusCode::OK, Some("1.0.0")));
    let (status, bytes) = registry
        .send(Method::GET, &format!("/v1/packages/{}", yanked["package"].as_str().unwrap()), "", Vec::new())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(Package::read(&bytes).unwrap().manifest.plugin.version.to_string(), "1.1.0");
    let (status, body) = registry.json(Method::GET, "/v1/plugins/com.alice.a/resolve?req=%5E2", "", Vec::new()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"]["message"].as_str().unwrap().contains("1.1.0 (yanked)"), "{body}");
    let (status, _) = registry.json(Method::GET, "/v1/plugins/com.alice.a/resolve?req=banana", "", Vec::new()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = registry.json(Method::GET, "/v1/packages/0000", "", Vec::new()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, listed) = registry.json(Method::GET, "/v1/plugins", "", Vec::new()).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "bob published nothing: {listed}");
    assert_eq!(listed[0]["latest"], "1.0.0");
    let (_, alice_keys) = registry.json(Method::GET, "/v1/publishers/alice", "", Vec::new()).await;
    assert_eq!(alice_keys["keys"].as_array().unwrap().len(), 1);
    assert!(alice_keys.get("token_hash").is_none(), "no secret is served");
}
