//! A JetStream cluster of real `nats-server` processes on loopback ports, each node
//! with its own store directory, killed when dropped: for the tests, the benchmarks
//! and `hearth demo --cluster` (the way nats.rs's own tests start servers).

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// One `nats-server` process; killed (SIGKILL) when dropped.
pub struct LocalNode(Child);

impl LocalNode {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for LocalNode {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free TCP port on loopback (free when asked; taken by whoever binds it first).
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts `size` JetStream nodes of `binary` routed to each other, their stores under
/// `dir`; returns them and their client URLs. They elect a leader on their own: the
/// first connections may have to wait for it.
pub fn start(binary: &Path, dir: &Path, size: usize) -> std::io::Result<(Vec<LocalNode>, Vec<String>)> {
    let clients = (0..size).map(|_| free_port()).collect::<std::io::Result<Vec<u16>>>()?;
    let routes = (0..size)
        .map(|_| free_port().map(|port| format!("nats://127.0.0.1:{port}")))
        .collect::<std::io::Result<Vec<String>>>()?;
    let mut nodes = Vec::with_capacity(size);
    for (n, port) in clients.iter().enumerate() {
        let store = dir.join(format!("nats-{n}"));
        std::fs::create_dir_all(&store)?;
        let child = Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(&store)
            .args(["--server_name", &format!("n{n}"), "--cluster_name", "hearth"])
            .args(["--cluster", &routes[n], "--routes", &routes.join(",")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| std::io::Error::new(error.kind(), format!("starting {}: {error}", binary.display())))?;
        nodes.push(LocalNode(child));
    }
    Ok((nodes, clients.iter().map(|port| format!("nats://127.0.0.1:{port}")).collect()))
}
