//! The partner-to-operator path end to end on loopback: a partner generates a key,
//! packs and publishes to a real registry server; the operator trusts the key,
//! installs `ID@REQ` from the registry into a running `hearth serve`, events flow;
//! then upgrade, yank and rollback. Every broken trust is refused with its reason.

use crate::server::*;
use hearth_registry::server::{RegistryState, app};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const ADMIN: &str = "hreg_test_admin_token";
const SHOP: &str = "com.freshcart.ingredient-shop";

/// A registry server on its own thread and runtime; returns its URL.
fn start_registry(data: &Path) -> String {
    let db = sled::open(data.join("db")).unwrap();
    let state = RegistryState::open(&db).unwrap();
    state.set_admin_token(ADMIN).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app(state)).await.unwrap();
        });
    });
    url
}

/// A JSON request to the registry: status and body.
fn registry_call(url: &str, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{url}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .unwrap();
    let mut response = agent.run(request).unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap_or(Value::Null))
}

/// Runs `hearth ARGS`; returns (success, stdout, stderr).
fn hearth(args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hearth")).args(args).envs(envs.iter().copied()).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

fn ok(args: &[&str], envs: &[(&str, &str)]) -> String {
    let (success, stdout, stderr) = hearth(args, envs);
    assert!(success, "hearth {args:?} failed: {stdout}{stderr}");
    stdout
}

fn refused(args: &[&str], envs: &[(&str, &str)]) -> String {
    let (success, stdout, stderr) = hearth(args, envs);
    assert!(!success, "hearth {args:?} should have been refused: {stdout}");
    stderr
}

/// The shop's manifest at another version, written next to the packages.
fn manifest_at(dir: &Path, version: &str) -> String {
    let text = std::fs::read_to_string(hearth_test_components::INGREDIENT_SHOP_MANIFEST).unwrap();
    let changed = text.replace("version = \"0.1.0\"", &format!("version = \"{version}\""));
    assert!(version == "0.1.0" || text != changed);
    let path = dir.join(format!("hearth-{version}.toml"));
    std::fs::write(&path, changed).unwrap();
    path.display().to_string()
}

fn pack(dir: &Path, version: &str, key: &str) -> String {
    let out = dir.join(format!("shop-{version}-{}.hpkg", Path::new(key).file_stem().unwrap().to_string_lossy()));
    let manifest = manifest_at(dir, version);
    let component = hearth_test_components::INGREDIENT_SHOP;
    let out_arg = out.display().to_string();
    ok(&["plugin", "pack", "--component", component, "--manifest", &manifest, "--key", key, "--out", &out_arg], &[]);
    out_arg
}

#[test]
fn publish_resolve_install_upgrade_yank_and_roll_back_over_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let registry = start_registry(&work.join("registry"));

    // The partner: a key, registered with the registry as publisher `freshcart`.
    let public = ok(&["keys", "generate", "freshcart", "--dir", work.to_str().unwrap()], &[]).trim().to_owned();
    let key = work.join("freshcart.key").display().to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600, "the secret key is private");
    }
    let public_file = work.join("freshcart.pub").display().to_string();
    let admin_env = [("HEARTH_REGISTRY", registry.as_str()), ("HEARTH_REGISTRY_ADMIN_TOKEN", ADMIN)];
    let publisher_token =
        ok(&["publisher", "register", "freshcart", "--key", &public_file], &admin_env).trim().to_owned();
    assert!(publisher_token.starts_with("hreg_"), "only the token on stdout: {publisher_token}");
    let (status, body) = registry_call(&registry, "GET", "/v1/publishers/freshcart", "", Value::Null);
    assert_eq!((status, body["keys"][0].as_str()), (200, Some(public.as_str())), "{body}");
    let not_admin = [("HEARTH_REGISTRY", registry.as_str()), ("HEARTH_REGISTRY_ADMIN_TOKEN", "not-admin")];
    assert!(refused(&["publisher", "register", "x", "--key", &public], &not_admin).contains("403"));
    assert!(refused(&["publisher", "register", "freshcart", "--key", &public], &admin_env).contains("409"));
    let registry_env = [("HEARTH_REGISTRY", registry.as_str()), ("HEARTH_REGISTRY_TOKEN", publisher_token.as_str())];

    let v010 = pack(work, "0.1.0", &key);
    let published = ok(&["plugin", "publish", &v010], &registry_env);
    assert!(published.starts_with(&format!("published {SHOP} 0.1.0")), "{published}");

    // Refusals at the registry, each with its reason.
    assert!(refused(&["plugin", "publish", &v010], &registry_env).contains("already published"));
    let mut tampered = std::fs::read(&v010).unwrap();
    let component = std::fs::read(hearth_test_components::INGREDIENT_SHOP).unwrap();
    let at = tampered.windows(64).position(|window| window == &component[..64]).unwrap() + 100;
    tampered[at] ^= 1;
    let tampered_path = work.join("tampered.hpkg");
    std::fs::write(&tampered_path, &tampered).unwrap();
    let v020 = pack(work, "0.2.0", &key);
    let mut tampered_manifest = std::fs::read(&v020).unwrap();
    let at = tampered_manifest.windows(17).position(|window| window == b"version = \"0.2.0\"").unwrap();
    tampered_manifest[at + 15] = b'9';
    let tampered_manifest_path = work.join("tampered-manifest.hpkg");
    std::fs::write(&tampered_manifest_path, &tampered_manifest).unwrap();
    for tampered in [&tampered_path, &tampered_manifest_path] {
        let error = refused(&["plugin", "publish", tampered.to_str().unwrap()], &registry_env);
        assert!(error.contains("tampered with or forged"), "{error}");
    }
    ok(&["keys", "generate", "mallory", "--dir", work.to_str().unwrap()], &[]);
    let forged = pack(work, "0.3.0", &work.join("mallory.key").display().to_string());
    let error = refused(&["plugin", "publish", &forged], &registry_env);
    assert!(error.contains("not a trusted key of publisher \"freshcart\""), "{error}");
    let wrong_token = [("HEARTH_REGISTRY", registry.as_str()), ("HEARTH_REGISTRY_TOKEN", "hreg_nobody")];
    assert!(refused(&["plugin", "publish", &v020], &wrong_token).contains("401"));

    // The registry lists, searches and resolves.
    let (_, found) = registry_call(&registry, "GET", "/v1/plugins?q=reorders", "", Value::Null);
    assert_eq!(found[0]["id"], SHOP, "{found}");
    let (status, _) = registry_call(&registry, "GET", &format!("/v1/plugins/{SHOP}/resolve?req=%5E2"), "", Value::Null);
    assert_eq!(status, 404);

    // The operator: a server that trusts nobody yet.
    let operator = "hth_registry_test_operator_token";
    let (server, port) = serve(&work.join("host"), operator, &[]);
    let host_env = [
        ("HEARTH_SERVER", format!("http://127.0.0.1:{port}")),
        ("HEARTH_TOKEN", operator.to_owned()),
        ("HEARTH_REGISTRY", registry.clone()),
    ];
    let host_env: Vec<(&str, &str)> = host_env.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let install = ["plugin", "install", &format!("{SHOP}@^0.1"), "--yes"];
    let error = refused(&install, &host_env);
    assert!(error.contains("403 untrusted_package") && error.contains("not in the trust store"), "{error}");
    let public_file = work.join("freshcart.pub").display().to_string();
    assert!(ok(&["keys", "trust", "freshcart", &public_file], &host_env).starts_with("trusted"));
    assert!(ok(&["keys", "list"], &host_env).contains(&public));
    let error = refused(&["plugin", "install", tampered_path.to_str().unwrap(), "--yes"], &host_env);
    assert!(error.contains("tampered"), "{error}");
    let error = refused(&["plugin", "install", &forged, "--yes"], &host_env);
    assert!(error.contains("not a trusted key"), "{error}");

    // Without --yes and with no terminal to ask on: refused in one line that says what
    // to do, no backtrace even when RUST_BACKTRACE asks for one, nothing installed.
    let with_backtrace: Vec<(&str, &str)> = host_env.iter().copied().chain([("RUST_BACKTRACE", "1")]).collect();
    let error = refused(&install[..3], &with_backtrace);
    let last = error.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: ") && last.contains("pass --yes"), "{error}");
    assert!(!error.to_lowercase().contains("backtrace"), "{error}");

    let (success, stdout, stderr) = hearth(&install, &host_env);
    assert!(success, "{stdout}{stderr}");
    assert_eq!(stdout.trim(), format!("installed {SHOP} 0.1.0"));
    assert!(stderr.contains("capabilities: kv, notify, commerce"), "the operator is shown the request: {stderr}");
    // A production server (no dev flag) shows nobody a plugin's kv data, not even its operator.
    for path in [format!("/v1/plugins/{SHOP}/kv"), format!("/v1/plugins/{SHOP}/kv/value?key=stock")] {
        let (status, body) = json_call(port, "GET", &path, operator, Value::Null);
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{path}: {body}");
    }

    // Events flow to the installed plugin.
    assert_eq!(json_call(port, "POST", "/v1/households", operator, json!({"id": "h1"})).0, 201);
    let fridge = json!({"id": "fridge-1", "household": "h1", "kind": "fridge", "model": "RF85", "region": "DE"});
    assert_eq!(json_call(port, "POST", "/v1/devices", operator, fridge).0, 201);
    let token = |role: &str, scope: &str| {
        json_call(port, "POST", "/v1/tokens", operator, json!({"role": role, "scope": scope})).1["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (device, user) = (token("device", "fridge-1"), token("user", "h1"));
    let grant = json!({"device_kinds": ["fridge"], "devices": []});
    assert_eq!(json_call(port, "PUT", &format!("/v1/me/grants/{SHOP}"), &user, grant).0, 204);
    let low_milk = json!({"id": "m1", "topic": "appliance.fridge.inventory",
        "body": {"item": "whole milk", "action": "counted", "quantity": {"amount": 200, "unit": "millilitres"}}});
    assert_eq!(json_call(port, "POST", "/v1/events", &device, low_milk).0, 202);
    let offers = wait_for_offers(port, &user);
    assert_eq!(offers[0]["plugin"], SHOP);

    // Publish 0.2.0, yank it: the upgrade finds nothing newer; unyank: it upgrades.
    ok(&["plugin", "publish", &v020], &registry_env);
    let (status, _) =
        registry_call(&registry, "POST", &format!("/v1/plugins/{SHOP}/0.2.0/yank"), &publisher_token, Value::Null);
    assert_eq!(status, 200);
    let upgrade = ["plugin", "upgrade", SHOP, "--yes"];
    assert!(ok(&upgrade, &host_env).contains("0.1.0 is up to date"), "a yanked version is not resolved");
    let (status, _) =
        registry_call(&registry, "POST", &format!("/v1/plugins/{SHOP}/0.2.0/unyank"), &publisher_token, Value::Null);
    assert_eq!(status, 200);
    assert_eq!(
        ok(&upgrade, &host_env).trim(),
        format!("upgraded {SHOP} 0.1.0 -> 0.2.0 (undo: hearth plugin rollback {SHOP})")
    );
    let (_, plugin) = json_call(port, "GET", &format!("/v1/plugins/{SHOP}"), operator, Value::Null);
    assert_eq!((plugin["version"].as_str(), plugin["rollback_to"].as_str()), (Some("0.2.0"), Some("0.1.0")));
    assert_eq!(ok(&["plugin", "rollback", SHOP], &host_env).trim(), format!("rolled back {SHOP} to 0.1.0"));
    let (_, plugin) = json_call(port, "GET", &format!("/v1/plugins/{SHOP}"), operator, Value::Null);
    assert_eq!(plugin["version"], "0.1.0");

    // The rolled-back version takes the next events where the cursors were handed over.
    let (status, _) = json_call(
        port,
        "POST",
        &format!("/v1/me/orders/{SHOP}/{}/decline", offers[0]["id"].as_str().unwrap()),
        &user,
        Value::Null,
    );
    assert_eq!(status, 204);
    let low_butter = json!({"id": "b1", "topic": "appliance.fridge.inventory",
        "body": {"item": "butter", "action": "counted", "quantity": {"amount": 50, "unit": "grams"}}});
    assert_eq!(json_call(port, "POST", "/v1/events", &device, low_butter).0, 202);
    let offers = wait_for_offers(port, &user);
    assert!(offers[0]["note"].as_str().unwrap().contains("butter"), "{offers:?}");
    stop(server);
}

fn wait_for_offers(port: u16, user: &str) -> Vec<Value> {
    for _ in 0..1_000 {
        let offers = json_call(port, "GET", "/v1/me/offers", user, Value::Null).1;
        if let Some(offers) = offers["offers"].as_array().filter(|offers| !offers.is_empty()) {
            return offers.clone();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("no offer arrived");
}

#[test]
fn the_plugin_template_builds_and_passes_its_own_tests() {
    let _heavy = crate::one_heavy_test_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("door-counter");
    let crate_arg = crate_dir.display().to_string();
    // The SDK comes from the binary, unpacked into a cache (a fixed one under target/,
    // so that runs share its build), not from this checkout.
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hearth-cache");
    let cache_env = [("HEARTH_CACHE_DIR", cache.to_str().unwrap())];
    let created = ok(&["plugin", "new", "door-counter", "--publisher", "acme", "--dir", &crate_arg], &cache_env);
    assert!(created.contains("(com.acme.door-counter)"), "the id follows the publisher: {created}");
    let cargo_toml = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().canonicalize().unwrap();
    assert!(cargo_toml.contains(cache.to_str().unwrap()), "{cargo_toml}");
    let checkout_sdk = checkout.join("sdk").display().to_string();
    assert!(!cargo_toml.contains(&format!("{checkout_sdk}\"")), "not the checkout's SDK: {cargo_toml}");
    let sdk = cargo_toml.split("hearth-sdk = { path = \"").nth(1).unwrap().split('"').next().unwrap();
    for manifest in [format!("{sdk}/Cargo.toml"), format!("{sdk}/testing/Cargo.toml")] {
        let text = std::fs::read_to_string(&manifest).unwrap();
        assert!(!text.contains("workspace"), "standalone, nothing inherited: {manifest}\n{text}");
    }
    for source in ["src/lib.rs", "testing/src/lib.rs", "../wit/capabilities.wit", "../wit/v0.1/types.wit"] {
        let carried = std::fs::read(Path::new(sdk).join(source)).unwrap();
        let here = std::fs::read(checkout.join("sdk").join(source)).unwrap();
        assert_eq!(carried, here, "{source} is this version's");
    }
    assert!(refused(&["plugin", "new", "Door_Counter", "--dir", &crate_arg], &[]).contains("a-z, 0-9"));

    // Share this workspace's target directory: the host crates are already built.
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target").canonicalize().unwrap();
    let target = target.display().to_string();
    let env = [("CARGO_TARGET_DIR", target.as_str())];
    let built = ok(&["plugin", "build", "--path", &crate_arg], &env);
    assert!(built.trim().ends_with("door_counter.wasm"), "{built}");
    ok(&["plugin", "test", "--path", &crate_arg], &env);

    ok(&["keys", "generate", "acme", "--dir", dir.path().to_str().unwrap()], &[]);
    let key = dir.path().join("acme.key").display().to_string();
    let out = dir.path().join("door-counter.hpkg").display().to_string();
    ok(&["plugin", "pack", "--path", &crate_arg, "--key", &key, "--out", &out], &env);
    let package = hearth_package::Package::read(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(package.manifest.plugin.publisher, "acme");
    assert_eq!(package.manifest.plugin.id, "com.acme.door-counter");
    let public =
        hearth_package::package::parse_public_key(std::fs::read_to_string(dir.path().join("acme.pub")).unwrap().trim())
            .unwrap();
    assert_eq!(package.verify(Some(&[public])).unwrap(), public);
}
