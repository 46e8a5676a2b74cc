//! `hearth serve` as a child process on loopback, raw HTTP/1.1 to it, and the CLI.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

/// Starts `hearth serve` on an ephemeral loopback port; returns it and the port.
/// A running `hearth serve`; killed if the test fails before stopping it (so an
/// orphan never holds the test's output open).
pub struct Server(Option<std::process::Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Server {
    /// Takes over a `hearth serve` child started by hand.
    pub fn adopt(child: std::process::Child) -> Self {
        Server(Some(child))
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.0.as_ref().map_or(0, std::process::Child::id)
    }

    /// Resident memory of the server process, in bytes (Linux).
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
    }
}

pub fn serve(data: &std::path::Path, operator: &str, extra: &[&str]) -> (Server, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(extra)
        .env("HEARTH_OPERATOR_TOKEN", operator)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let listening = BufReader::new(child.stdout.take().unwrap()).lines().next().unwrap().unwrap();
    let port = listening.rsplit(':').next().unwrap().parse().unwrap_or_else(|_| panic!("{listening}"));
    (Server(Some(child)), port)
}

/// Starts `hearth serve` (unsigned uploads allowed) with `RUST_LOG` set to `log`, or
/// unset; returns it, its port, and its stderr lines, collected until it exits.
pub fn serve_capturing_logs(
    data: &std::path::Path,
    operator: &str,
    log: Option<&str>,
) -> (Server, u16, std::thread::JoinHandle<Vec<String>>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hearth"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--dev-allow-unsigned-packages", "--data"])
        .arg(data)
        .env("HEARTH_OPERATOR_TOKEN", operator)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match log {
        Some(filter) => command.env("RUST_LOG", filter),
        None => command.env_remove("RUST_LOG"),
    };
    let mut child = command.spawn().unwrap();
    let listening = BufReader::new(child.stdout.take().unwrap()).lines().next().unwrap().unwrap();
    let port = listening.rsplit(':').next().unwrap().parse().unwrap_or_else(|_| panic!("{listening}"));
    let stderr = child.stderr.take().unwrap();
    let lines = std::thread::spawn(move || BufReader::new(stderr).lines().map_while(Result::ok).collect());
    (Server(Some(child)), port, lines)
}

/// SIGTERM, and a clean exit.
pub fn stop(mut server: Server) {
    let Some(mut child) = server.0.take() else { return };
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(child.wait().unwrap().success());
}

/// One HTTP/1.1 exchange with `Connection: close`; returns status and JSON body.
pub fn http(port: u16, method: &str, path: &str, token: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    // A server that stops answering fails the test instead of hanging it.
    stream.set_read_timeout(Some(std::time::Duration::from_secs(120))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {token}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response);
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

pub fn json_call(port: u16, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let bytes = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    http(port, method, path, token, "application/json", &bytes)
}

/// Runs the CLI against the server; returns stdout, failing on a non-zero exit.
pub fn cli(port: u16, token: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["--server", &format!("http://127.0.0.1:{port}"), "--token", token])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "hearth {args:?}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// Uploads a plugin unsigned (`--dev-allow-unsigned-packages`) with the given manifest text.
pub fn install_unsigned(port: u16, token: &str, wasm: &str, manifest: &str) {
    let (status, response) = upload_unsigned(port, token, &std::fs::read(wasm).unwrap(), manifest);
    assert_eq!(status, 201, "{response}");
}

/// Uploads a component and its manifest unsigned; returns the status and the answer.
pub fn upload_unsigned(port: u16, token: &str, component: &[u8], manifest: &str) -> (u16, Value) {
    let boundary = "b0undary";
    let mut body = format!("--{boundary}\r\ncontent-disposition: form-data; name=\"manifest\"\r\n\r\n{manifest}\r\n--{boundary}\r\ncontent-disposition: form-data; name=\"component\"; filename=\"p.wasm\"\r\n\r\n").into_bytes();
    body.extend_from_slice(component);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    http(port, "POST", "/v1/plugins", token, &format!("multipart/form-data; boundary={boundary}"), &body)
}

/// Uploads a fixture unsigned with its own manifest file.
pub fn install_files(port: u16, token: &str, wasm: &str, manifest_path: &str) {
    install_unsigned(port, token, wasm, &std::fs::read_to_string(manifest_path).unwrap());
}

/// Creates a token over the API; returns its secret.
pub fn token(port: u16, operator: &str, role: &str, scope: &str) -> String {
    let (status, body) =
        json_call(port, "POST", "/v1/tokens", operator, serde_json::json!({"role": role, "scope": scope}));
    assert_eq!(status, 201, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// Registers a household and its devices (id, kind) over the API.
pub fn register(port: u16, operator: &str, household: &str, devices: &[(&str, &str)]) {
    let (status, body) = json_call(port, "POST", "/v1/households", operator, serde_json::json!({"id": household}));
    assert_eq!(status, 201, "{body}");
    for (id, kind) in devices {
        let device = serde_json::json!({"id": id, "household": household, "kind": kind, "model": "m1", "region": "DE"});
        let (status, body) = json_call(port, "POST", "/v1/devices", operator, device);
        assert_eq!(status, 201, "{body}");
    }
}

/// Polls `check` every 10 ms until it holds; fails after 30 s.
pub fn poll(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !check() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// One JSON POST that may fail: `None` when the connection failed or broke (the
/// server was killed), as an appliance sees it.
pub fn try_post(port: u16, path: &str, token: &str, body: &[u8]) -> Option<(u16, Value)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).ok()?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response);
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}
