//! kill -9 in the middle of ingest and delivery: a child `hearth ingest` process is
//! killed several times and restarted on the same data dir; every event acknowledged
//! to the sender is delivered at least once, and duplicates stay within what was in
//! flight at each kill.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod support;

use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use support::*;

const EVENTS_PER_LINE: usize = 25;
const LINES: usize = 120;
const KILLS: usize = 3;

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

    // Lines are sent one at a time and resent after a kill until acknowledged, as a
    // real appliance would retry; a kill lands after a different number of acks each time.
    let kill_after = [17, 43, 80];
    let mut acked = 0;
    let mut kills = 0;
    while acked < LINES {
        let (mut child, mut stdin, mut stdout) = spawn_child(dir.path());
        let mut killed = false;
        while acked < LINES {
            if kills < KILLS && acked == kill_after[kills] {
                // Send more without waiting, so some lines are in flight at the kill.
                for extra in acked..(acked + 3).min(LINES) {
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
    assert_eq!(kills, KILLS);

    let host = open(dir.path()).await;
    let seen = recorder(&host, RECORDER, "seen").await;
    let seen = seen.as_object().unwrap();
    let mut duplicates = 0;
    for index in 0..LINES {
        for n in 0..EVENTS_PER_LINE {
            let count = seen.get(&format!("crash-{index}-{n}")).and_then(|c| c.as_u64()).unwrap_or(0);
            assert!(count >= 1, "acknowledged event crash-{index}-{n} was never delivered");
            duplicates += count - 1;
        }
    }
    // In flight at a kill: at most one consumer batch (100) being delivered.
    assert!(duplicates <= (KILLS * 100) as u64, "{duplicates} duplicates");
    assert_eq!(seen.len(), LINES * EVENTS_PER_LINE, "nothing but the sent events was delivered");
    eprintln!("{} events, {KILLS} kills, {duplicates} duplicates", LINES * EVENTS_PER_LINE);
}
