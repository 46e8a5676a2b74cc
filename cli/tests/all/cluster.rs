//! A cluster of real processes: three `nats-server` nodes (JetStream, R3, each with
//! its own store) and three `hearth serve --nats` hosts on loopback, driven over HTTP
//! the way appliances and operators would.
//!
//! - 8 devices send events (batches, in order per device) to all three hosts in turn;
//!   one host is SIGKILLed during ingest, later one NATS node; a device whose request
//!   fails resends the same batch (same ids) to another host. Every acknowledged event
//!   reaches the plugin, each device's in order (the recorder tallies per device: the
//!   next number expected, resends, and any that came early), duplicates counted.
//! - The dead host's partitions move to the others within the lease time; when it
//!   comes back it gets work again.
//! - A plugin installed through one host runs on all; disabling it through another
//!   stops it everywhere.
//!
//! `HEARTH_CLUSTER_EVENTS` scales the run (100,000 by default).

use crate::nats_cluster::{Node, free_port, start_cluster};
use crate::server::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const OPERATOR: &str = "hth_cluster_operator_token_0123456789";
const RECORDER: &str = "test.hearth.recorder";
const DEVICES: usize = 8;
const BATCH: usize = 250;
/// The recorder's consumers (two topic patterns and the host events) times the partitions.
const UNITS: u64 = 3 * 8;
const LEASE_SECS: u64 = 4;

/// One `hearth serve --nats` host on a fixed port (kept across its restarts).
struct ClusterHost {
    id: String,
    port: u16,
    server: Option<Server>,
}

impl ClusterHost {
    /// Starts it; its log (warnings and errors) goes to `logs/ID.log`.
    fn start(id: &str, port: u16, nats: &[String], logs: &std::path::Path) -> Self {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(logs.join(format!("{id}.log"))).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--dev-allow-unsigned-packages"])
            .args(["--nats", &nats.join(","), "--host-id", id, "--lease-secs", &LEASE_SECS.to_string()])
            .env("HEARTH_OPERATOR_TOKEN", OPERATOR)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let listening = BufReader::new(child.stdout.take().unwrap()).lines().next().and_then(Result::ok);
        if !listening.as_deref().is_some_and(|line| line.contains("listening")) {
            let log = std::fs::read_to_string(logs.join(format!("{id}.log"))).unwrap_or_default();
            panic!("{id} did not start: {listening:?}\n{log}");
        }
        ClusterHost { id: id.into(), port, server: Some(Server::adopt(child)) }
    }

    fn sigkill(&mut self) {
        drop(self.server.take()); // Server's drop is SIGKILL
    }

    fn alive(&self) -> bool {
        self.server.is_some()
    }
}

/// Live members and the partitions each delivers, as `host` sees them.
fn members(port: u16) -> Vec<(String, u64)> {
    let (status, body) = json_call(port, "GET", "/v1/cluster", OPERATOR, Value::Null);
    assert_eq!(status, 200, "{body}");
    body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| (member["host"].as_str().unwrap().to_owned(), member["partitions"].as_u64().unwrap()))
        .collect()
}

fn runs(port: u16, plugin: &str) -> bool {
    json_call(port, "GET", &format!("/v1/plugins/{plugin}"), OPERATOR, Value::Null).0 == 200
}

fn plugin_runs(port: u16) -> bool {
    runs(port, RECORDER)
}

fn poll_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "timed out after {limit:?} waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

fn tallies(port: u16, user: &str) -> Option<Value> {
    let (status, body) = try_post(port, "/v1/services/recorder/tally", user, b"{}")?;
    (status == 200).then_some(body)
}

/// Prints the end of each host's log (warnings and errors).
fn dump_logs(dir: &std::path::Path) {
    for id in ["host-a", "host-b", "host-c"] {
        let log = std::fs::read_to_string(dir.join(format!("{id}.log"))).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(60).collect();
        eprintln!("--- {id}.log (last lines, newest first)\n{}", tail.join("\n"));
    }
}

/// What the devices saw.
#[derive(Default)]
struct Sent {
    acknowledged_batches: AtomicUsize,
    resent: AtomicU64,
    duplicates_reported: AtomicU64,
}

#[test]
fn three_hosts_share_delivery_and_lose_nothing_when_a_host_or_a_nats_node_dies() {
    let total: usize =
        std::env::var("HEARTH_CLUSTER_EVENTS").ok().and_then(|value| value.parse().ok()).unwrap_or(100_000);
    let per_device = total / DEVICES;
    let batches_per_device = per_device.div_ceil(BATCH);
    let dir = tempfile::tempdir().unwrap();
    let (mut nodes, nats): (Vec<Node>, Vec<String>) = start_cluster(dir.path());
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let hosts: Arc<Mutex<Vec<ClusterHost>>> = Arc::new(Mutex::new(
        ["host-a", "host-b", "host-c"]
            .iter()
            .zip(&ports)
            .map(|(id, port)| ClusterHost::start(id, *port, &nats, dir.path()))
            .collect(),
    ));

    // Installed through host A: it runs on B and C as well.
    // Four instances per host: storage round trips of different devices overlap.
    let manifest = std::fs::read_to_string(hearth_test_components::RECORDER_PLUGIN_MANIFEST).unwrap()
        + "\n[limits]\nconcurrency = 4\n";
    install_unsigned(ports[0], OPERATOR, hearth_test_components::RECORDER_PLUGIN, &manifest);
    for port in &ports {
        poll_for("the plugin runs on every host", Duration::from_secs(90), || plugin_runs(*port));
    }
    let devices: Vec<String> = (0..DEVICES).map(|n| format!("appliance-{n}")).collect();
    let kinds: Vec<(&str, &str)> = devices.iter().map(|device| (device.as_str(), "fridge")).collect();
    register(ports[1], OPERATOR, "house-1", &kinds);
    let user = token(ports[2], OPERATOR, "user", "house-1");
    let grant = json!({"device_kinds": ["fridge"], "devices": []});
    assert_eq!(json_call(ports[0], "PUT", &format!("/v1/me/grants/{RECORDER}"), &user, grant).0, 204);
    let device_tokens: Vec<String> = devices.iter().map(|device| token(ports[0], OPERATOR, "device", device)).collect();
    poll_for("the partitions are spread over three hosts", Duration::from_secs(90), || {
        let members = members(ports[0]);
        members.len() == 3 && members.iter().all(|(_, units)| *units > 0)
    });

    // Eight devices send in order, each batch to the next host; a failed request is
    // resent unchanged to the host after.
    let sent = Arc::new(Sent::default());
    let started = Instant::now();
    let senders: Vec<_> = (0..DEVICES)
        .map(|device| {
            let (sent, token, ports) = (sent.clone(), device_tokens[device].clone(), ports.clone());
            std::thread::spawn(move || {
                let mut target = device;
                for batch in 0..batches_per_device {
                    let events: Vec<Value> = (batch * BATCH..((batch + 1) * BATCH).min(per_device))
                        .map(|n| json!({"id": format!("e-{device}-{n}"), "topic": "ext.test.tally", "body": {"n": n}}))
                        .collect();
                    let body = json!(events).to_string().into_bytes();
                    let mut attempts = 0;
                    loop {
                        attempts += 1;
                        assert!(attempts < 200, "device {device}: batch {batch} never accepted");
                        match try_post(ports[target % 3], "/v1/events", &token, &body) {
                            Some((202, answer)) => {
                                let receipts = answer["receipts"].as_array().map_or(&[][..], Vec::as_slice);
                                let duplicates =
                                    receipts.iter().filter(|receipt| receipt["duplicate"] == true).count() as u64;
                                sent.duplicates_reported.fetch_add(duplicates, Ordering::Relaxed);
                                break;
                            }
                            _ => {
                                sent.resent.fetch_add(1, Ordering::Relaxed);
                                target += 1;
                                std::thread::sleep(Duration::from_millis(100));
                            }
                        }
                    }
                    sent.acknowledged_batches.fetch_add(1, Ordering::Relaxed);
                    target += 1;
                }
            })
        })
        .collect();

    // A third of the way in, host B dies; its partitions move to A and C.
    let all_batches = batches_per_device * DEVICES;
    while sent.acknowledged_batches.load(Ordering::Relaxed) < all_batches / 3 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let killed_at = Instant::now();
    hosts.lock().unwrap()[1].sigkill();
    let takeover = poll_for("A and C take over B's partitions", Duration::from_secs(60), || {
        let members = members(ports[0]);
        members.len() == 2 && members.iter().map(|(_, units)| units).sum::<u64>() == UNITS
    });
    let takeover = killed_at.elapsed().max(takeover);

    // Two thirds in, a NATS node dies: the streams and buckets keep a quorum.
    while sent.acknowledged_batches.load(Ordering::Relaxed) < 2 * all_batches / 3 {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(nodes.remove(2));
    for sender in senders {
        sender.join().unwrap();
    }
    let ingest = started.elapsed();

    let live_ports: Vec<u16> = hosts.lock().unwrap().iter().filter(|host| host.alive()).map(|host| host.port).collect();
    let done = Arc::new(AtomicBool::new(false));
    let mut last = Value::Null;
    let waited = Instant::now();
    while !done.load(Ordering::Relaxed) {
        if let Some(tally) = tallies(live_ports[0], &user) {
            // Keyed by the device refs the plugin sees, not by the devices' ids.
            let counts = tally.as_object().map_or(Vec::new(), |tally| tally.values().cloned().collect());
            let complete =
                counts.len() == DEVICES && counts.iter().all(|count| count["next"].as_u64() == Some(per_device as u64));
            last = tally;
            done.store(complete, Ordering::Relaxed);
        }
        if waited.elapsed() > Duration::from_secs(480) {
            dump_logs(dir.path());
            panic!("not every acknowledged event was delivered; tally: {last}; members: {:?}", members(live_ports[0]));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let delivered = started.elapsed();
    let counts: Vec<Value> = last.as_object().unwrap().values().cloned().collect();
    let early: u64 = counts.iter().map(|count| count["early"].as_u64().unwrap()).sum();
    let duplicates: u64 = counts.iter().map(|count| count["dups"].as_u64().unwrap()).sum();
    eprintln!(
        "cluster run: {total} events from {DEVICES} devices over 3 hosts; host SIGKILLed at a third, NATS node at two \
         thirds; takeover {:.1} s; {} requests resent, {} duplicates reported at ingest; ingest {:.1} s, all delivered \
         after {:.1} s ({:.0} events/s); 0 lost, {early} out of order, {duplicates} delivered twice",
        takeover.as_secs_f64(),
        sent.resent.load(Ordering::Relaxed),
        sent.duplicates_reported.load(Ordering::Relaxed),
        ingest.as_secs_f64(),
        delivered.as_secs_f64(),
        total as f64 / delivered.as_secs_f64(),
    );
    if early > 0 {
        dump_logs(dir.path());
    }
    assert_eq!(early, 0, "an event arrived before an earlier one of its device: {last}");
    assert!(takeover < Duration::from_secs(10), "takeover took {takeover:?}");
    // At most what was in flight on the dead host: a read batch per partition it delivered.
    let read = hearth_host::HostConfig::default().delivery.batch_size as u64;
    assert!(duplicates <= UNITS * read, "{duplicates} duplicates");

    // Host B comes back (same id) and gets its share again.
    let back = ClusterHost::start("host-b", ports[1], &nats[..2], dir.path());
    hosts.lock().unwrap()[1] = back;
    poll_for("host B delivers again", Duration::from_secs(90), || {
        let members = members(ports[0]);
        members.len() == 3 && members.iter().all(|(_, units)| *units > 0)
    });

    // Disabling through one host stops the plugin on all of them.
    let (status, body) = json_call(ports[2], "POST", &format!("/v1/plugins/{RECORDER}/disable"), OPERATOR, Value::Null);
    assert_eq!(status, 200, "{body}");
    for port in &ports {
        poll_for("the plugin stops on every host", Duration::from_secs(90), || !plugin_runs(*port));
    }
    let names: Vec<String> = hosts.lock().unwrap().iter().map(|host| host.id.clone()).collect();
    assert_eq!(names, ["host-a", "host-b", "host-c"]);
}

/// Two hosts: one order confirmed through both at once is booked once; a service is
/// answered through either; a household erased through one is gone on the other.
#[test]
fn two_hosts_book_an_order_once_and_erase_a_household_everywhere() {
    let _cluster = crate::one_heavy_test_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let (_nodes, nats) = start_cluster(dir.path());
    let (a, b) = (free_port(), free_port());
    let _hosts =
        [ClusterHost::start("host-a", a, &nats, dir.path()), ClusterHost::start("host-b", b, &nats, dir.path())];
    const SHOP: &str = "com.freshcart.ingredient-shop";
    install_files(
        a,
        OPERATOR,
        hearth_test_components::INGREDIENT_SHOP,
        hearth_test_components::INGREDIENT_SHOP_MANIFEST,
    );
    poll_for("the shop runs on host B", Duration::from_secs(90), || runs(b, SHOP));
    register(b, OPERATOR, "house-1", &[("fridge-1", "fridge")]);
    let (device, user, partner) = (
        token(a, OPERATOR, "device", "fridge-1"),
        token(b, OPERATOR, "user", "house-1"),
        token(a, OPERATOR, "partner", "freshcart"),
    );
    let grant = json!({"device_kinds": ["fridge"], "devices": []});
    assert_eq!(json_call(a, "PUT", &format!("/v1/me/grants/{SHOP}"), &user, grant).0, 204);

    // The quote service answers through either host.
    for port in [a, b] {
        let (status, body) = json_call(port, "POST", "/v1/services/shop/quote", &user, json!({"item": "whole milk"}));
        assert!(status == 200 || status == 422, "host {port}: {status} {body}");
    }

    let low_milk = json!({"id": "m1", "topic": "appliance.fridge.inventory",
        "body": {"item": "whole milk", "action": "counted", "quantity": {"amount": 200, "unit": "millilitres"}}});
    assert_eq!(json_call(b, "POST", "/v1/events", &device, low_milk).0, 202);
    let mut offers = Value::Null;
    poll_for("the offer is made", Duration::from_secs(90), || {
        offers = json_call(a, "GET", "/v1/me/offers", &user, Value::Null).1;
        offers["offers"].as_array().is_some_and(|offers| !offers.is_empty())
    });
    let offer = &offers["offers"][0];
    let path = format!("/v1/me/orders/{}/{}/confirm", offer["plugin"].as_str().unwrap(), offer["id"].as_str().unwrap());
    // Both hosts confirm the same order at the same moment.
    let confirmations: Vec<_> = [a, b]
        .into_iter()
        .map(|port| {
            let (path, user) = (path.clone(), user.clone());
            std::thread::spawn(move || json_call(port, "POST", &path, &user, Value::Null))
        })
        .collect();
    for confirmation in confirmations {
        let (status, body) = confirmation.join().unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let month = hearth_host::commerce::ledger::month_of(hearth_host::clock::now_ms());
    for port in [a, b] {
        let (status, statement) =
            json_call(port, "GET", &format!("/v1/partner/statements/{month}"), &partner, Value::Null);
        assert_eq!(status, 200, "{statement}");
        assert_eq!(statement["totals"]["EUR"]["orders"], 1, "booked twice: {statement}");
    }

    // Erased through host A: host B no longer knows the household, its tokens or devices.
    let (status, erased) = json_call(a, "DELETE", "/v1/me", &user, Value::Null);
    assert_eq!(status, 200, "{erased}");
    assert_eq!(json_call(b, "GET", "/v1/me/offers", &user, Value::Null).0, 401);
    let again = json!({"id": "m2", "topic": "appliance.fridge.door", "body": {"state": "open"}});
    assert_eq!(json_call(b, "POST", "/v1/events", &device, again).0, 401);
    let (status, body) = json_call(b, "POST", "/v1/households", OPERATOR, json!({"id": "house-1"}));
    assert_eq!(status, 201, "the erased id is free again on host B: {body}");
}
