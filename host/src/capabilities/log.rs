//! `hearth:plugin/log`, and the plugin's WASI stdout/stderr: both become `tracing`
//! events tagged with the plugin id.

use crate::bindings::hearth::plugin::log::{Host, Level};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Longest message kept; the rest is cut so one plugin cannot flood the logs.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// Per-store context of the log capability.
#[derive(Debug)]
pub struct LogCtx {
    plugin: Arc<str>,
}

impl LogCtx {
    pub fn new(plugin: Arc<str>) -> Self {
        LogCtx { plugin }
    }
}

impl Host for LogCtx {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        emit(&self.plugin, level, truncate(&message));
        Ok(())
    }
}

fn emit(plugin: &str, level: Level, message: &str) {
    match level {
        Level::Trace => tracing::trace!(target: "hearth::plugin", plugin, "{message}"),
        Level::Debug => tracing::debug!(target: "hearth::plugin", plugin, "{message}"),
        Level::Info => tracing::info!(target: "hearth::plugin", plugin, "{message}"),
        Level::Warn => tracing::warn!(target: "hearth::plugin", plugin, "{message}"),
        Level::Error => tracing::error!(target: "hearth::plugin", plugin, "{message}"),
    }
}

fn truncate(message: &str) -> &str {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message;
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

/// A plugin's stdout or stderr. Lines become log records: stdout at info, stderr
/// (where a Rust panic message goes) at warn.
#[derive(Debug, Clone)]
pub struct GuestOutput {
    plugin: Arc<str>,
    level: Level,
}

impl GuestOutput {
    pub fn stdout(plugin: Arc<str>) -> Self {
        GuestOutput { plugin, level: Level::Info }
    }

    pub fn stderr(plugin: Arc<str>) -> Self {
        GuestOutput { plugin, level: Level::Warn }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineWriter { output: self.clone(), line: Vec::new() })
    }
}

struct LineWriter {
    output: GuestOutput,
    line: Vec<u8>,
}

impl LineWriter {
    fn emit_line(&mut self) {
        let text = String::from_utf8_lossy(&self.line);
        emit(&self.output.plugin, self.output.level, truncate(text.trim_end()));
        self.line.clear();
    }
}

impl AsyncWrite for LineWriter {
    fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        for &byte in bytes {
            if byte == b'\n' {
                self.emit_line();
            } else if self.line.len() < MAX_MESSAGE_BYTES {
                self.line.push(byte);
            }
        }
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.line.is_empty() {
            self.emit_line();
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.line.is_empty() {
            self.emit_line();
        }
    }
}
