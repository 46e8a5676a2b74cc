//! `hearth dev` as a partner uses it: a new plugin in an empty directory outside the
//! repository, `hearth dev` in one terminal, `hearth dev send` and `hearth dev call`
//! in another, an edit of the source while events are in flight, and Ctrl-C.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn hearth(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .current_dir(dir)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    (output.status.success(), text(output.stdout), text(output.stderr))
}

fn ok(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let (success, stdout, stderr) = hearth(dir, args, env);
    assert!(success, "hearth {args:?}: {stdout}{stderr}");
    stdout
}

/// Lines of the running `hearth dev`'s stdout and stderr, as they come.
fn wait_for_line(lines: &mpsc::Receiver<String>, seen: &mut Vec<String>, what: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if line.contains(what) {
                    return line;
                }
            }
            Err(_) => panic!("no line with {what:?} within {limit:?}; so far:\n{}", seen.join("\n")),
        }
    }
}

/// Kills the `hearth dev` process if the test fails before stopping it.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = Command::new("kill").args(["-KILL", &self.0.to_string()]).status();
        }
    }
}

fn opens(dir: &Path) -> u64 {
    let answer = ok(dir, &["dev", "call", "laundry-log.stats"], &[]);
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    answer["fridge_opens"].as_u64().unwrap()
}

#[test]
fn new_dev_send_call_and_an_edit_upgrade_the_running_plugin() {
    let _heavy = crate::one_heavy_test_at_a_time();
    let outside = tempfile::tempdir().unwrap();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hearth-cache");
    let cache_env = [("HEARTH_CACHE_DIR", cache.to_str().unwrap())];
    let created = ok(outside.path(), &["plugin", "new", "laundry-log", "--publisher", "acme"], &cache_env);
    assert!(created.contains("com.acme.laundry-log"), "{created}");
    let crate_dir = outside.path().join("laundry-log");

    // `hearth dev send` before `hearth dev` says what to do.
    let (success, _, stderr) = hearth(&crate_dir, &["dev", "send", "appliance.fridge.door"], &[]);
    assert!(!success && stderr.contains("start `hearth dev`"), "{stderr}");

    // The plugin's build shares this workspace's target directory (the SDK is built).
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target").canonicalize().unwrap();
    let mut dev = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .current_dir(&crate_dir)
        .args(["dev", "--listen", "127.0.0.1:0"])
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(dev.id());
    let (sender, lines) = mpsc::channel();
    for output in
        [Box::new(dev.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>, Box::new(dev.stderr.take().unwrap())]
    {
        let sender = sender.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(output).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
    }
    let mut seen = Vec::new();
    let banner = wait_for_line(
        &lines,
        &mut seen,
        "hearth dev: com.acme.laundry-log 0.1.0-dev.1 on http://127.0.0.1:",
        Duration::from_secs(600),
    );
    wait_for_line(&lines, &mut seen, "watching the sources", Duration::from_secs(5));
    let printed = seen.join("\n");
    assert!(printed.contains("fridge-1 (fridge)") && printed.contains("device token (fridge-1): hth_"), "{printed}");
    assert!(printed.contains("hearth dev send appliance.fridge.door"), "{printed}");
    assert!(printed.contains("hearth dev call laundry-log.stats '{}'"), "{printed}");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(crate_dir.join(".hearth-dev.json")).unwrap()).unwrap();
    assert!(banner.ends_with(state["server"].as_str().unwrap()), "{banner} {state}");

    // Three openings and a closing from the second terminal; the service counts them.
    for _ in 0..3 {
        let sent = ok(&crate_dir, &["dev", "send", "appliance.fridge.door"], &[]);
        assert!(sent.starts_with("sent appliance.fridge.door from fridge-1 as event "), "{sent}");
    }
    let closed = crate_dir.join("closed.json");
    std::fs::write(&closed, r#"{"topic": "appliance.fridge.door", "body": {"state": "closed"}}"#).unwrap();
    ok(&crate_dir, &["dev", "send", closed.to_str().unwrap()], &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while opens(&crate_dir) < 3 {
        assert!(Instant::now() < deadline, "the openings were not counted");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(opens(&crate_dir), 3);
    let (success, _, stderr) = hearth(&crate_dir, &["dev", "send", "appliance.oven.state"], &[]);
    assert!(!success && stderr.contains("oven"), "no oven in a fridge plugin's household: {stderr}");
    let (success, _, stderr) = hearth(&crate_dir, &["dev", "send", "appliance.fridge.dor"], &[]);
    assert!(!success && stderr.contains("neither a file nor a catalogue topic"), "{stderr}");

    // An edit: the plugin now logs each opening and answers with its version. It is
    // rebuilt and upgraded; events sent meanwhile all arrive, and the count goes on.
    let lib = crate_dir.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    let edited = source
        .replace(
            "kv::set(&key, &(opens + 1))?;",
            "kv::set(&key, &(opens + 1))?;\n            hearth_sdk::info!(\"door opened, {} so far\", opens + 1);",
        )
        .replace("json!({ \"fridge_opens\": opens })", "json!({ \"fridge_opens\": opens, \"edited\": true })");
    assert_ne!(edited, source, "the template changed: update this test's edit");
    std::fs::write(&lib, edited).unwrap();
    for _ in 0..5 {
        ok(&crate_dir, &["dev", "send", "appliance.fridge.door"], &[]);
    }
    wait_for_line(&lines, &mut seen, "upgraded com.acme.laundry-log to 0.1.0-dev.2", Duration::from_secs(600));
    ok(&crate_dir, &["dev", "send", "appliance.fridge.door"], &[]);
    let logged = wait_for_line(&lines, &mut seen, "door opened, ", Duration::from_secs(30));
    assert!(
        logged.contains("INFO") && logged.contains("com.acme.laundry-log") && !logged.contains('\u{1b}'),
        "{logged}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while opens(&crate_dir) < 9 {
        assert!(Instant::now() < deadline, "events sent during the upgrade were lost");
        std::thread::sleep(Duration::from_millis(100));
    }
    let answer = ok(&crate_dir, &["dev", "call", "laundry-log.stats"], &[]);
    assert!(answer.contains("\"edited\": true") && answer.contains("\"fridge_opens\": 9"), "{answer}");

    // Ctrl-C: a clean stop, and the state file goes with it.
    assert!(Command::new("kill").args(["-INT", &dev.id().to_string()]).status().unwrap().success());
    assert!(dev.wait().unwrap().success());
    assert!(!crate_dir.join(".hearth-dev.json").exists());
}
