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
