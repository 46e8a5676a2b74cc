//! Hostile plugins and bad components: every failure is contained to the call that
//! caused it, explained, and the host keeps serving.

use crate::support::*;
use hearth_host::bindings::{Caller, Event, EventBody, OtherEvent, PluginError, ServiceResponse};
use hearth_host::{CallError, Host, HostError};
use std::time::{Duration, Instant};

const HOSTILE: &str = "test.hearth.hostile";

async fn hostile(host: &Host, behaviour: &str) -> Result<ServiceResponse, CallError> {
    host.call_service("hostile", behaviour, Caller::Operator, None, Vec::new()).await
}

fn hostile_event(behaviour: &str) -> Event {
    let topic = format!("test.hostile.{behaviour}");
    Event {
        id: format!("event-{behaviour}"),
        topic: topic.clone(),
        time_ms: now_ms(),
        household: "household-a".into(),
        device: None,
        body: EventBody::Other(OtherEvent { topic, json: "{}".into() }),
    }
}

/// The hostile plugin answers again, and a well-behaved plugin was never disturbed.
async fn assert_host_still_serves(host: &Host) {
    let ok = hostile(host, "ok").await.expect("a fresh instance serves the next call");
    assert_eq!(ok.output, b"ok");
    assert_eq!(ids(&suggest(host, "household-a").await["ready"]), ["spinach-feta-omelette", "pancakes"]);
}

async fn host_with_both_plugins(dir: &std::path::Path) -> Host {
    let host = open(dir).await;
    install_recipe_service(&host).await;
    install_hostile(&host).await;
    stock_breakfast_fridge(&host, "household-a").await;
    host
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_fails_only_that_call() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_both_plugins(dir.path()).await;
    let result = hostile(&host, "trap").await;
    assert!(matches!(result, Err(CallError::Trap(ref message)) if message.contains("unreachable")), "{result:?}");
    let result = host.deliver(HOSTILE, hostile_event("trap")).await;
    assert!(matches!(result, Err(CallError::Trap(_))), "{result:?}");
    assert_host_still_serves(&host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_is_stopped_at_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_both_plugins(dir.path()).await;

    let started = Instant::now();
    let result = hostile(&host, "loop").await;
    assert_eq!(result, Err(CallError::Timeout(Duration::from_millis(500))), "service calls get 500 ms");
    // Generous bound: the point is that it ends, not how fast (benchmarks measure that).
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());

    let result = host.deliver(HOSTILE, hostile_event("loop")).await;
    assert_eq!(result, Err(CallError::Timeout(Duration::from_millis(100))), "events get 100 ms");
    assert_host_still_serves(&host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_does_not_block_other_plugins_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_both_plugins(dir.path()).await;
    let looping = tokio::spawn({
        let host = host.clone();
        async move { hostile(&host, "loop").await }
    });
    // While the hostile plugin spins, the recipe plugin keeps answering.
    for _ in 0..5 {
        assert_eq!(ids(&suggest(&host, "household-a").await["ready"]).len(), 2);
    }
    assert!(!looping.is_finished(), "the loop should still be running");
    assert!(matches!(looping.await.unwrap(), Err(CallError::Timeout(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_memory_growth_hits_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_both_plugins(dir.path()).await;
    let result = hostile(&host, "grow-memory").await;
    // hearth.toml of the fixture requests 16 MiB.
    assert_eq!(result, Err(CallError::MemoryExhausted { limit_bytes: 16 << 20 }));
    let result = host.deliver(HOSTILE, hostile_event("grow-memory")).await;
    assert_eq!(result, Err(CallError::MemoryExhausted { limit_bytes: 16 << 20 }));
    assert_host_still_serves(&host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_has_no_files_environment_or_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_both_plugins(dir.path()).await;

    let result = hostile(&host, "read-file").await;
    match result {
        Err(CallError::Plugin(PluginError::Unavailable(message))) => {
            assert!(message.starts_with("reading /etc/passwd:"), "{message}");
            assert!(!message.contains("root:"), "{message}");
        }
        other => panic!("reading /etc/passwd must fail inside the plugin, got {other:?}"),
    }

    assert!(std::env::vars().count() > 0, "the test process has an environment to leak");
    let seen: serde_json::Value = serde_json::from_slice(&hostile(&host, "read-env").await.unwrap().output).unwrap();
    assert_eq!(seen, serde_json::json!({ "vars": [], "args": [] }));
    assert_host_still_serves(&host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_on_a_wasi_clock_ends_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_both_plugins(dir.path()).await;
    let started = Instant::now();
    let result = hostile(&host, "sleep").await;
    assert_eq!(result, Err(CallError::Timeout(Duration::from_millis(500))));
    assert!(started.elapsed() < Duration::from_secs(5), "a 10 s sleep must not run out, took {:?}", started.elapsed());
    assert_host_still_serves(&host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_init_fails_the_call_that_needed_the_instance() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with_both_plugins(dir.path()).await;
    assert!(hostile(&host, "ok").await.is_ok());
    host.set_config(HOSTILE, "init", "trap").await.unwrap();
    // The live instance was initialised before; a trap discards it.
    assert!(matches!(hostile(&host, "trap").await, Err(CallError::Trap(_))));
    let result = hostile(&host, "ok").await;
    assert!(matches!(result, Err(CallError::Start(ref message)) if message.contains("trapped")), "{result:?}");

    host.set_config(HOSTILE, "init", "loop").await.unwrap();
    let result = hostile(&host, "ok").await;
    assert!(matches!(result, Err(CallError::Start(ref message)) if message.contains("timed out")), "{result:?}");

    host.set_config(HOSTILE, "init", "ok").await.unwrap();
    assert_host_still_serves(&host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_components_are_refused_with_the_reason_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let host = open(dir.path()).await;
    let manifest = manifest(hearth_test_components::RECIPE_SERVICE_MANIFEST);
    let refuse = |bytes: Vec<u8>| {
        let host = host.clone();
        let manifest = manifest.clone();
        async move {
            match host.install(manifest, bytes).await {
                Err(HostError::InvalidComponent(message)) => message,
                other => panic!("expected an invalid-component error, got {other:?}"),
            }
        }
    };

    let message = refuse(b"#!/bin/sh\necho not wasm\n".to_vec()).await;
    assert!(message.contains("not a WebAssembly file"), "{message}");

    // The smallest valid core module: header only.
    let message = refuse(b"\0asm\x01\0\0\0".to_vec()).await;
    assert!(message.contains("core WebAssembly module, not a component"), "{message}");

    let message = refuse(hearth_test_components::read(hearth_test_components::OTHER_WORLD)).await;
    assert!(message.contains("does not export a Hearth handler (hearth:plugin/handler@0.1.0, "), "{message}");
    assert!(message.contains("add"), "the message lists what it does export: {message}");

    let mut truncated = hearth_test_components::read(hearth_test_components::RECIPE_SERVICE);
    truncated.truncate(truncated.len() / 2);
    let message = refuse(truncated).await;
    assert!(!message.is_empty());

    assert!(host.plugins().is_empty());
    host.shutdown().await.unwrap();
    let host = open(dir.path()).await;
    assert!(host.plugins().is_empty(), "refused installs leave nothing behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_instances_and_both_allocators_run_the_same_plugin() {
    for pooling in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = hearth_host::HostConfig::default();
        config.engine.pooling = pooling;
        let host = open_with(dir.path(), config).await;
        let expected = if pooling {
            hearth_host::runtime::engine::Allocator::Pooling
        } else {
            hearth_host::runtime::engine::Allocator::OnDemand
        };
        assert_eq!(host.stats().allocator, expected);
        install_hostile(&host).await;
        // A direct instance is its own store: outside the worker, same component.
        let mut direct = host.direct(HOSTILE).await.unwrap();
        assert!(direct.on_event(&hostile_event("ok")).await.unwrap());
        assert!(!direct.on_event(&hostile_event("no-such-behaviour")).await.unwrap(), "a plugin error is a refusal");
        assert!(host.direct("com.nobody.x").await.is_err());
        assert_eq!(hostile(&host, "ok").await.unwrap().output, b"ok", "the workers are untouched");
        // Two plugins from one component share its compiled code: one compile.
        let mut twin = manifest(hearth_test_components::HOSTILE_PLUGIN_MANIFEST);
        twin.plugin.id = "test.hearth.hostile-twin".into();
        host.install(twin, hearth_test_components::read(hearth_test_components::HOSTILE_PLUGIN)).await.unwrap();
        assert_eq!((host.stats().compiles, host.stats().artifact_cache_hits), (1, 1));
    }
}

/// A guest built for a language runtime instantiates many core modules (a Python
/// plugin has 14); the instance pool is sized so that such guests fill their share of
/// it without starving the others. With 10 instance slots, five instances of the
/// many-modules plugin run at once beside the recorder's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_with_many_core_modules_fit_the_pool_beside_others() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = hearth_host::HostConfig::default();
    config.engine.max_instances = 10;
    let host = open_with(dir.path(), config).await;
    assert_eq!(host.stats().allocator, hearth_host::runtime::engine::Allocator::Pooling);
    let mut many = manifest(hearth_test_components::RECORDER_PLUGIN_MANIFEST);
    many.plugin.id = "test.hearth.many-modules".into();
    host.install(many, hearth_test_components::read(hearth_test_components::MANY_MODULES)).await.unwrap();
    let recorder = manifest(hearth_test_components::RECORDER_PLUGIN_MANIFEST);
    let recorder_id = recorder.plugin.id.clone();
    host.install(recorder, hearth_test_components::read(hearth_test_components::RECORDER_PLUGIN)).await.unwrap();
    let mut running = Vec::new();
    for n in 0..5 {
        let instance = host.direct("test.hearth.many-modules").await;
        running.push(instance.unwrap_or_else(|error| panic!("many-modules instance {n}: {error}")));
    }
    running.push(host.direct(&recorder_id).await.expect("the recorder still gets an instance"));
}
