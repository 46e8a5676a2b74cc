//! kill -9 in the middle of ingest and delivery: a child `hearth ingest` process is
//! killed several times and restarted on the same data dir; every event acknowledged
//! to the sender is delivered at least once, and duplicates stay within what was in
//! flight at each kill.
//!
//! `HEARTH_CRASH_EVENTS` and `HEARTH_CRASH_KILLS` scale it (`cargo xtask crash` runs
//! 100,000 events and 5 kills); the suite runs 3,000 and 3.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod support;

use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use support::*;

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

    let lines = setting("HEARTH_CRASH_EVENTS", 3_000).div_ceil(EVENTS_PER_LINE);
    let kills_wanted = setting("HEARTH_CRASH_KILLS", 3);
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
    // In flight at a kill: at most one consumer batch (100) being delivered.
    assert!(duplicates <= (kills_wanted * 100) as u64, "{duplicates} duplicates");
    assert_eq!(seen.len(), acknowledged, "nothing but the sent events was delivered");
}
