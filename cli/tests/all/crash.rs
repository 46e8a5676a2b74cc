//! kill -9 in the middle of ingest and delivery, two ways:
//! - the server: `hearth serve` on loopback takes large batches over HTTP from several
//!   clients and is SIGKILLed at random moments (fixed seed) many times, restarted on
//!   the same data dir; clients resend every request not answered 202, with the same
//!   ids, as appliances do;
//! - `hearth ingest`: events on stdin, the process killed several times.
//!
//! Either way every event acknowledged to its sender is delivered at least once, and
//! duplicates stay within what was in flight at each kill.
//!
//! `HEARTH_CRASH_EVENTS` and `HEARTH_CRASH_KILLS` scale the server run (`cargo xtask
//! crash` runs 200,000 events and 40 kills); the suite runs 24,000 and 20.

use crate::support::*;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const EVENTS_PER_LINE: usize = 25;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn spawn_child(data: &std::path::Path) -> (Child, ChildStdin, BufReader<ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["ingest", "--device", "fridge-1", "--data"])
        .arg(data)
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdin, stdout)
}

fn line(index: usize) -> String {
    let events: Vec<_> = (0..EVENTS_PER_LINE)
        .map(|n| event_json(&format!("crash-{index}-{n}"), "ext.test.crash", json!({"line": index, "n": n})))
        .collect();
    json!(events).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    {
        let host = open(dir.path()).await;
        add_household(&host, "h1", &[("fridge-1", "fridge")]);
        let plugin = install_recorder(&host, None, None).await;
        host.grant("h1", &plugin, &grant_kinds(&["fridge"])).await.unwrap();
        host.shutdown().await.unwrap();
    }

    let lines = 3_000usize.div_ceil(EVENTS_PER_LINE);
    let kills_wanted = 3;
    // Lines are sent one at a time and resent after a kill until acknowledged, as a
    // real appliance would retry; kills land at uneven points.
    let kill_after: Vec<usize> =
        (1..=kills_wanted).map(|k| (k * lines / (kills_wanted + 1) + k * 7 % 13).min(lines - 1)).collect();
    let started = std::time::Instant::now();
    let mut acked = 0;
    let mut kills = 0;
    while acked < lines {
        let (mut child, mut stdin, mut stdout) = spawn_child(dir.path());
        let mut killed = false;
        while acked < lines {
            if kills < kills_wanted && acked == kill_after[kills] {
                // Send more without waiting, so some lines are in flight at the kill.
                for extra in acked..(acked + 3).min(lines) {
                    writeln!(stdin, "{}", line(extra)).unwrap();
                }
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
                killed = true;
                break;
            }
            writeln!(stdin, "{}", line(acked)).unwrap();
            stdin.flush().unwrap();
            let mut answer = String::new();
            stdout.read_line(&mut answer).unwrap();
            let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
            assert_eq!(answer["accepted"], EVENTS_PER_LINE, "{answer}");
            acked += 1;
        }
        if !killed {
            drop(stdin); // end of input: the child drains delivery and exits
            assert!(child.wait().unwrap().success());
        }
    }
    assert_eq!(kills, kills_wanted);

    let host = open(dir.path()).await;
    let seen = host.kv_keys(RECORDER, "seen/").unwrap();
    let (mut lost, mut duplicates) = (0u64, 0u64);
    for index in 0..lines {
        for n in 0..EVENTS_PER_LINE {
            match host.kv_get(RECORDER, &format!("seen/crash-{index}-{n}")).unwrap() {
                Some(count) => duplicates += serde_json::from_slice::<u64>(&count).unwrap() - 1,
                None => lost += 1,
            }
        }
    }
    let acknowledged = lines * EVENTS_PER_LINE;
    eprintln!(
        "crash run: {acknowledged} events acknowledged, {} delivered, {lost} lost, {duplicates} duplicates, \
         {kills_wanted} SIGKILLs, {:.1} s",
        seen.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(lost, 0, "acknowledged events were never delivered");
    // In flight at a kill: at most one consumer read being delivered.
    let read = hearth_host::HostConfig::default().delivery.batch_size;
    assert!(duplicates <= (kills_wanted * read) as u64, "{duplicates} duplicates");
    assert_eq!(seen.len(), acknowledged, "nothing but the sent events was delivered");
}

/// A small deterministic generator (splitmix64): the run is the same for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const CLIENTS: usize = 4;
const OPERATOR: &str = "hth_crash_operator_token_0123456789";

/// A server child that is SIGKILLed if the test fails while it runs.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `hearth serve` on a fixed loopback port (the clients keep it across restarts);
/// returns once it listens.
fn start_server(data: &std::path::Path, port: u16) -> Killed {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .env("HEARTH_OPERATOR_TOKEN", OPERATOR)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.contains("listening"), "{line}");
    Killed(child)
}

/// One POST of events; `None` when the connection failed or broke (the server was killed).
fn post_events(port: u16, token: &str, body: &[u8]) -> Option<(u16, serde_json::Value)> {
    crate::server::try_post(port, "/v1/events", token, body)
}

/// What the clients saw.
#[derive(Default)]
struct Sent {
    /// Event ids answered 202.
    acknowledged: Mutex<Vec<String>>,
    requests: AtomicU64,
    resent: AtomicU64,
    duplicates_reported: AtomicU64,
}

/// Four clients send batches of 1 to 1,000 events (one in five a single event) while
/// the server is SIGKILLed at random moments; they go on until every kill landed and
/// they sent their share of the events. Every acknowledged event is delivered.
#[test]
fn acknowledged_http_batches_survive_sigkill_of_the_server() {
    let _heavy = crate::one_heavy_test_at_a_time();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let devices: Vec<String> = (0..CLIENTS).map(|n| format!("fridge-{n}")).collect();
    runtime.block_on(async {
        let host = open(dir.path()).await;
        let owned: Vec<(&str, &str)> = devices.iter().map(|device| (device.as_str(), "fridge")).collect();
        add_household(&host, "h1", &owned);
        let plugin = install_recorder(&host, None, Some(2)).await;
        host.grant("h1", &plugin, &grant_kinds(&["fridge"])).await.unwrap();
        host.shutdown().await.unwrap();
    });

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = start_server(dir.path(), port);
    let tokens: Vec<String> = devices
        .iter()
        .map(|device| {
            let body = serde_json::json!({"role": "device", "scope": device});
            let (status, answer) = crate::server::json_call(port, "POST", "/v1/tokens", OPERATOR, body);
            assert_eq!(status, 201, "{answer}");
            answer["token"].as_str().unwrap().to_owned()
        })
        .collect();

    let events_wanted = setting("HEARTH_CRASH_EVENTS", 24_000) as u64;
    let kills_wanted = setting("HEARTH_CRASH_KILLS", 20);
    let sent = Arc::new(Sent::default());
    let done = Arc::new(AtomicBool::new(false));
    let clients_finished = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (token, sent, done, finished) =
                (tokens[client].clone(), sent.clone(), done.clone(), clients_finished.clone());
            std::thread::spawn(move || {
                let mut rng = Rng(0xc4a5_0000 + client as u64);
                let mut next_id = 0u64;
                let share = events_wanted / CLIENTS as u64;
                while next_id < share || !done.load(Ordering::Relaxed) {
                    let size = if rng.below(5) == 0 { 1 } else { rng.below(1_000) + 1 };
                    let ids: Vec<String> = (0..size).map(|n| format!("c{client}-{}", next_id + n)).collect();
                    next_id += size;
                    let events: Vec<_> = ids
                        .iter()
                        .map(|id| event_json(id, "ext.test.crash", serde_json::json!({"client": client})))
                        .collect();
                    let body = if size == 1 { events[0].to_string() } else { serde_json::json!(events).to_string() };
                    // Resent with the same ids until acknowledged.
                    let mut attempt = 0u32;
                    loop {
                        sent.requests.fetch_add(1, Ordering::Relaxed);
                        if attempt > 0 {
                            sent.resent.fetch_add(1, Ordering::Relaxed);
                        }
                        attempt += 1;
                        match post_events(port, &token, body.as_bytes()) {
                            Some((202, answer)) => {
                                // Appliances send in bursts with pauses.
                                std::thread::sleep(Duration::from_millis(rng.below(40)));
                                let receipts = answer["receipts"].as_array().unwrap();
                                assert_eq!(receipts.len(), ids.len());
                                let duplicates = receipts.iter().filter(|r| r["duplicate"] == true).count();
                                sent.duplicates_reported.fetch_add(duplicates as u64, Ordering::Relaxed);
                                sent.acknowledged.lock().unwrap().extend(ids.iter().cloned());
                                break;
                            }
                            Some((503 | 500, _)) | None => std::thread::sleep(Duration::from_millis(20)),
                            Some((status, answer)) => panic!("unexpected {status}: {answer}"),
                        }
                    }
                }
                finished.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();

    // The killer: SIGKILL at a random moment, restart at once on the same data.
    let mut rng = Rng(0x6b11);
    let mut kills = 0;
    while kills < kills_wanted {
        std::thread::sleep(Duration::from_millis(5 + rng.below(150)));
        server.0.kill().unwrap();
        server.0.wait().unwrap();
        kills += 1;
        server = start_server(dir.path(), port);
    }
    done.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    assert_eq!(clients_finished.load(Ordering::Relaxed), CLIENTS);
    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(server.0.wait().unwrap().success());

    let acknowledged = sent.acknowledged.lock().unwrap().clone();
    runtime.block_on(async {
        let host = open(dir.path()).await;
        let missing = |host: &hearth_host::Host| {
            acknowledged.iter().filter(|id| host.kv_get(RECORDER, &format!("seen/{id}")).unwrap().is_none()).count()
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while missing(&host) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let lost = missing(&host);
        let mut duplicates = 0u64;
        for id in &acknowledged {
            if let Some(count) = host.kv_get(RECORDER, &format!("seen/{id}")).unwrap() {
                duplicates += serde_json::from_slice::<u64>(&count).unwrap() - 1;
            }
        }
        let seen = host.kv_keys(RECORDER, "seen/").unwrap().len();
        eprintln!(
            "server crash run: {} events acknowledged over {} requests ({} resent, {} receipts duplicate), \
             {seen} delivered, {lost} lost, {duplicates} delivered twice, {kills} SIGKILLs, {:.1} s",
            acknowledged.len(),
            sent.requests.load(Ordering::Relaxed),
            sent.resent.load(Ordering::Relaxed),
            sent.duplicates_reported.load(Ordering::Relaxed),
            started.elapsed().as_secs_f64()
        );
        assert_eq!(lost, 0, "acknowledged events were never delivered");
        assert_eq!(seen, acknowledged.len(), "nothing but the sent events was delivered");
        // In flight at a kill: at most one consumer read per lane being delivered.
        let read = hearth_host::HostConfig::default().delivery.batch_size;
        assert!(duplicates <= (kills * 2 * read) as u64, "{duplicates} duplicates");
        host.shutdown().await.unwrap();
    });
}
