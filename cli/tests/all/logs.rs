//! Plugin logs from the outside: a real `hearth serve` on loopback, a plugin that
//! floods its log and traps, its publisher and another publisher's partner token, the
//! CLI, a restart and a removal.

use crate::server::{cli, install_unsigned, json_call, register, serve, stop, token};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const OPERATOR: &str = "hth_logs_operator_token_0123456789";
const HOSTILE: &str = "test.hearth.hostile";
/// The recorder, installed as another publisher's plugin.
const OTHERS: &str = "test.hearth.recorder";

/// Every stored line of `plugin`, read page by page through `base` (the operator's
/// or the partner's route) with pages of `limit`.
fn read_all(port: u16, token: &str, base: &str, plugin: &str, limit: usize) -> Vec<Value> {
    let (mut lines, mut after) = (Vec::new(), String::new());
    loop {
        let path = format!("{base}/{plugin}/logs?limit={limit}{after}");
        let (status, page) = json_call(port, "GET", &path, token, Value::Null);
        assert_eq!(status, 200, "{path}: {page}");
        let got = page["lines"].as_array().unwrap().clone();
        if got.is_empty() {
            return lines;
        }
        after = format!("&after={}", page["next"].as_str().unwrap());
        lines.extend(got);
    }
}

/// Reads `plugin`'s book until `check` holds of it (lines are stored every 250 ms).
fn wait_for(port: u16, plugin: &str, what: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines = read_all(port, OPERATOR, "/v1/plugins", plugin, 1000);
        if check(&lines) {
            return lines;
        }
        assert!(Instant::now() < deadline, "no line {what} in {} lines", lines.len());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn plugin_logs_are_bounded_kept_and_shown_only_to_their_publisher() {
    let dir = tempfile::tempdir().unwrap();
    let (server, port) = serve(dir.path(), OPERATOR, &["--dev-allow-unsigned-packages"]);
    let manifest = |path: &str| std::fs::read_to_string(path).unwrap();
    install_unsigned(
        port,
        OPERATOR,
        hearth_test_components::HOSTILE_PLUGIN,
        &manifest(hearth_test_components::HOSTILE_PLUGIN_MANIFEST),
    );
    let others = manifest(hearth_test_components::RECORDER_PLUGIN_MANIFEST)
        .replace("publisher = \"test\"", "publisher = \"other\"");
    install_unsigned(port, OPERATOR, hearth_test_components::RECORDER_PLUGIN, &others);
    register(port, OPERATOR, "house-l", &[]);
    let user = token(port, OPERATOR, "user", "house-l");
    let grant = json!({"device_kinds": [], "devices": []});
    assert_eq!(json_call(port, "PUT", &format!("/v1/me/grants/{HOSTILE}"), &user, grant).0, 204);
    let call =
        |operation: &str| json_call(port, "POST", &format!("/v1/services/hostile/{operation}"), &user, json!({}));

    // 20,000 lines of 10 KB at once: the budget's burst gets through, cut. Then,
    // once the budget has refilled a little (host lines about a plugin share it), a trap.
    assert_eq!(call("log-flood").0, 200);
    std::thread::sleep(Duration::from_millis(1_100));
    assert_ne!(call("trap").0, 200);
    // The cursors of the host's lines about a trap (the book may have dropped old ones).
    let trap_lines = |lines: &[Value]| -> Vec<String> {
        lines
            .iter()
            .filter(|line| line["source"] == "host" && line["message"].as_str().unwrap().contains("plugin call failed"))
            .map(|line| line["cursor"].as_str().unwrap().to_owned())
            .collect()
    };
    let lines = wait_for(port, HOSTILE, "about the trap", |lines| trap_lines(lines).len() == 1);
    let first_trap = trap_lines(&lines).remove(0);
    let own: Vec<&Value> = lines.iter().filter(|line| line["source"] == "plugin" && line["level"] == "info").collect();
    assert!((400..=600).contains(&own.len()), "the budget's burst and what it refilled meanwhile: {}", own.len());
    assert!(own.iter().all(|line| line["message"].as_str().unwrap().len() <= 4096), "cut to 4 KiB");
    assert!(own[0]["message"].as_str().unwrap().starts_with("flooding the log, line 0"));
    let oldest = lines[0]["cursor"].as_str().unwrap().to_owned();
    let times: Vec<u64> = lines.iter().map(|line| line["time_ms"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "oldest first");

    // Pages of 7 read the same lines as one page of 1,000, each once.
    let paged = read_all(port, OPERATOR, "/v1/plugins", HOSTILE, 7);
    assert_eq!(paged, read_all(port, OPERATOR, "/v1/plugins", HOSTILE, 1000));

    // More floods: the book stays bounded; the newest lines are the ones kept.
    // Each flood after a pause gets the ~110 lines the budget refilled.
    for _ in 0..7 {
        std::thread::sleep(Duration::from_millis(1_100));
        assert_eq!(call("log-flood").0, 200);
    }
    std::thread::sleep(Duration::from_millis(1_100));
    assert_ne!(call("trap").0, 200);
    // However many lines the floods got in (more when the machine is slow, which
    // pushes the first trap's line out of the book), the second trap is told.
    let lines = wait_for(port, HOSTILE, "about the second trap", |lines| {
        trap_lines(lines).iter().any(|cursor| *cursor > first_trap)
    });
    assert!((1_000..=1_100).contains(&lines.len()), "bounded: {} lines kept", lines.len());
    assert!(lines[0]["cursor"].as_str().unwrap() > oldest.as_str(), "the oldest lines went, the newest stayed");

    // The publisher reads its own plugin's book; another publisher cannot tell it exists.
    let partner = token(port, OPERATOR, "partner", "test");
    let other = token(port, OPERATOR, "partner", "other");
    assert!(!read_all(port, &partner, "/v1/partner/plugins", HOSTILE, 1000).is_empty());
    let (status, refused) = json_call(port, "GET", &format!("/v1/partner/plugins/{HOSTILE}/logs"), &other, Value::Null);
    let (_, missing) = json_call(port, "GET", "/v1/partner/plugins/no.such.plugin/logs", &other, Value::Null);
    assert_eq!(status, 404, "{refused}");
    assert_eq!(refused["error"]["code"], missing["error"]["code"]);
    let (status, _) =
        json_call(port, "PUT", &format!("/v1/partner/plugins/{HOSTILE}/log-level"), &other, json!({"level": "debug"}));
    assert_eq!(status, 404, "another publisher cannot change the level either");
    assert_eq!(json_call(port, "GET", &format!("/v1/partner/plugins/{OTHERS}/logs"), &other, Value::Null).0, 200);
    assert_eq!(json_call(port, "GET", &format!("/v1/plugins/{HOSTILE}/logs"), &partner, Value::Null).0, 403);

    // Bad queries answer in the API's error shape.
    for (query, status) in [("limit=0", 422), ("limit=1001", 422), ("limit=abc", 400), ("follow=1", 400)] {
        let (got, body) = json_call(port, "GET", &format!("/v1/plugins/{HOSTILE}/logs?{query}"), OPERATOR, Value::Null);
        assert_eq!(got, status, "{query}: {body}");
        assert!(body["error"]["message"].is_string(), "{query}: {body}");
    }
    let (status, body) =
        json_call(port, "PUT", &format!("/v1/plugins/{HOSTILE}/log-level"), OPERATOR, json!({"level": "loud"}));
    assert_eq!(status, 422, "{body}");

    // At warn, the plugin's info lines are no longer kept (the host's still are).
    let before = read_all(port, OPERATOR, "/v1/plugins", HOSTILE, 1000);
    let last = before.last().unwrap()["cursor"].as_str().unwrap().to_owned();
    let set =
        json_call(port, "PUT", &format!("/v1/partner/plugins/{HOSTILE}/log-level"), &partner, json!({"level": "warn"}));
    assert_eq!(set.0, 204, "{}", set.1);
    std::thread::sleep(Duration::from_millis(1_100));
    assert_eq!(call("log-flood").0, 200);
    std::thread::sleep(Duration::from_millis(1_100));
    assert_ne!(call("trap").0, 200);
    let after = |lines: &[Value]| -> Vec<Value> {
        lines.iter().filter(|line| line["cursor"].as_str().unwrap() > last.as_str()).cloned().collect()
    };
    let newer = after(&wait_for(port, HOSTILE, "about the third trap", |lines| {
        after(lines).iter().any(|line| line["message"].as_str().unwrap().contains("plugin call failed"))
    }));
    assert!(newer.iter().all(|line| line["level"] != "info"), "no info lines at warn: {newer:?}");
    assert_eq!(
        json_call(port, "GET", &format!("/v1/plugins/{HOSTILE}/logs?limit=1"), OPERATOR, Value::Null).1["level"],
        "warn"
    );

    // The CLI reads the same book with the publisher's token.
    let printed = cli(port, &partner, &["plugin", "logs", HOSTILE]);
    assert!(
        printed.lines().any(|line| line.contains(" WARN  host ") && line.contains("plugin call failed")),
        "{printed}"
    );
    assert_eq!(printed.lines().count(), read_all(port, OPERATOR, "/v1/plugins", HOSTILE, 1000).len());

    // `--follow` prints what is there, then each new line as it comes.
    let mut follow = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["--server", &format!("http://127.0.0.1:{port}"), "--token", &partner, "plugin", "logs", HOSTILE, "-f"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (sender, followed) = std::sync::mpsc::channel();
    let stdout = follow.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let mut shown = 0;
    while followed.recv_timeout(Duration::from_millis(1_500)).is_ok() {
        shown += 1;
    }
    assert_eq!(shown, printed.lines().count(), "the book so far, once");
    std::thread::sleep(Duration::from_millis(1_100));
    assert_ne!(call("trap").0, 200);
    let mut new_lines = vec![followed.recv_timeout(Duration::from_secs(10)).expect("new lines arrive")];
    new_lines.extend(std::iter::from_fn(|| followed.recv_timeout(Duration::from_secs(2)).ok()));
    follow.kill().unwrap();
    let _ = follow.wait();
    assert!(new_lines.iter().any(|line| line.contains("hostile plugin panics on request")), "{new_lines:?}");
    assert!(new_lines.iter().any(|line| line.contains("plugin call failed")), "{new_lines:?}");
    assert!(new_lines.iter().all(|line| !line.ends_with("plugin ")), "no blank lines: {new_lines:?}");

    // Kept across a restart; gone with the plugin.
    let kept = read_all(port, OPERATOR, "/v1/plugins", HOSTILE, 1000).len();
    stop(server);
    let (server, port) = serve(dir.path(), OPERATOR, &["--dev-allow-unsigned-packages"]);
    assert_eq!(read_all(port, OPERATOR, "/v1/plugins", HOSTILE, 1000).len(), kept);
    assert_eq!(json_call(port, "DELETE", &format!("/v1/plugins/{HOSTILE}"), OPERATOR, Value::Null).0, 200);
    install_unsigned(
        port,
        OPERATOR,
        hearth_test_components::HOSTILE_PLUGIN,
        &manifest(hearth_test_components::HOSTILE_PLUGIN_MANIFEST),
    );
    assert!(
        read_all(port, OPERATOR, "/v1/plugins", HOSTILE, 1000).is_empty(),
        "a reinstalled plugin starts a new book"
    );
    let level = json_call(port, "GET", &format!("/v1/plugins/{HOSTILE}/logs"), OPERATOR, Value::Null).1;
    assert_eq!(level["level"], "info", "and its level is the default again");
    stop(server);
}

/// `hearth serve` with no `RUST_LOG` shows what plugins say at info (and nothing of the
/// host below warn), as plain text when stderr is not a terminal.
#[test]
fn serve_shows_plugins_info_lines_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let (server, port, lines) = crate::server::serve_capturing_logs(dir.path(), OPERATOR, None);
    let manifest = std::fs::read_to_string(hearth_test_components::HOSTILE_PLUGIN_MANIFEST).unwrap();
    install_unsigned(port, OPERATOR, hearth_test_components::HOSTILE_PLUGIN, &manifest);
    register(port, OPERATOR, "house-i", &[]);
    let user = token(port, OPERATOR, "user", "house-i");
    let grant = json!({"device_kinds": [], "devices": []});
    assert_eq!(json_call(port, "PUT", &format!("/v1/me/grants/{HOSTILE}"), &user, grant).0, 204);
    assert_eq!(json_call(port, "POST", "/v1/services/hostile/log-flood", &user, json!({})).0, 200);
    stop(server);
    let lines = lines.join().unwrap();
    let first = lines.iter().find(|line| line.contains("flooding the log, line 0 ")).expect("the plugin's info line");
    assert!(
        first.contains(" INFO hearth::plugin: ") && first.contains(HOSTILE) && !first.contains('\u{1b}'),
        "{first}"
    );
    assert!(!lines.iter().any(|line| line.contains(" INFO hearth_host")), "the host's own info lines stay quiet");
}
