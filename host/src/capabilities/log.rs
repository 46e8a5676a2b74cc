//! `hearth:plugin/log`, and the plugin's WASI stdout/stderr: both become `tracing`
//! events tagged with the plugin id, and lines in the plugin's log book.

use super::{Capability, PluginStore, Setup};
use crate::bindings::hearth::plugin::log::{Host, Level};
use crate::plugins::logbook::{LogBook, LogLevel, LogSource};
use crate::rate::TokenBucket;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime::component::{HasSelf, Linker};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Longest message kept; the rest is cut so one plugin cannot flood the logs.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// Log lines one plugin may write per second, and at once after a quiet period.
pub const LINES_PER_SECOND: f64 = 100.0;
/// Lines a plugin may log in a burst before the rate applies.
pub const LINES_BURST: f64 = 500.0;

/// One plugin's log budget, shared by all its instances: lines over the rate are
/// dropped and counted, and the next line that gets through says how many went. The
/// lines that get through go to the host's log (`tracing`) and to the plugin's log
/// book, which its operator and publisher read.
#[derive(Debug)]
pub struct LogBudget {
    plugin: Arc<str>,
    bucket: std::sync::Mutex<TokenBucket>,
    dropped: AtomicU64,
    unreported: AtomicU64,
    not_granted: AtomicU64,
    book: Arc<LogBook>,
    /// The lowest level of the plugin's own lines that is kept (set per plugin).
    level: Arc<AtomicU8>,
}

impl LogBudget {
    /// A full budget for `plugin`, whose lines go to its book in `book`.
    pub fn new(plugin: Arc<str>, book: Arc<LogBook>) -> Self {
        LogBudget {
            level: book.level_cell(&plugin),
            plugin,
            bucket: std::sync::Mutex::new(TokenBucket::full(LINES_BURST)),
            dropped: AtomicU64::new(0),
            unreported: AtomicU64::new(0),
            not_granted: AtomicU64::new(0),
            book,
        }
    }

    /// Lines dropped over the rate since the plugin started.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Calls its manifest does not allow (capabilities it does not request, services
    /// outside its `calls`), since it started.
    pub fn not_granted(&self) -> u64 {
        self.not_granted.load(Ordering::Relaxed)
    }

    /// A call the manifest does not allow (`function`, e.g. `kv.set` of a plugin that
    /// does not request kv, `services.call` of an operation outside its `calls`),
    /// refused with `message` (what the plugin is told: the line that would allow it):
    /// counted and reported within the budget. Returns `message`.
    pub fn refuse_not_granted(&self, function: &str, message: String) -> String {
        self.not_granted.fetch_add(1, Ordering::Relaxed);
        self.report(|| format!("{function} refused: {message}"));
        message
    }

    /// Whether one more line about this plugin may be written now: its own lines and
    /// the host's lines it causes (denials, failed calls, dead letters) share the
    /// budget. A line over the rate is counted as dropped; the next admitted one is
    /// preceded by how many went.
    pub fn admit(&self) -> bool {
        let admitted = crate::sync::lock(&self.bucket).take(LINES_PER_SECOND, LINES_BURST);
        if admitted.is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            self.unreported.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let dropped = self.unreported.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let message = format!("{dropped} log lines dropped: over {LINES_PER_SECOND} lines/s");
            tracing::warn!(target: "hearth::plugin", plugin = %self.plugin, dropped, "{message}");
            self.book.record(&self.plugin, LogLevel::Warn, LogSource::Host, message);
        }
        true
    }

    /// A host line about this plugin (a trap, a timeout, a denial, a dead letter), at
    /// warn, within the budget: to the host's log and the plugin's book. `message` is
    /// only built when the line is written.
    pub fn report(&self, message: impl FnOnce() -> String) {
        if self.admit() {
            let message = message();
            tracing::warn!(plugin = %self.plugin, "{message}");
            self.book.record(&self.plugin, LogLevel::Warn, LogSource::Host, message);
        }
    }

    fn emit(&self, level: Level, message: &str) {
        let kept = book_level(level);
        if (kept as u8) < self.level.load(Ordering::Relaxed) || !self.admit() {
            return;
        }
        let message = truncate(message);
        emit(&self.plugin, level, message);
        self.book.record(&self.plugin, kept, LogSource::Plugin, message.to_owned());
    }
}

fn book_level(level: Level) -> LogLevel {
    match level {
        Level::Trace => LogLevel::Trace,
        Level::Debug => LogLevel::Debug,
        Level::Info => LogLevel::Info,
        Level::Warn => LogLevel::Warn,
        Level::Error => LogLevel::Error,
    }
}

/// Longest text a plugin controls (an error it returned, a URI it asked for) that a
/// host log line keeps.
pub const MAX_HOST_FIELD_BYTES: usize = 256;

/// `text` cut to [`MAX_HOST_FIELD_BYTES`] for a host log line.
pub fn cut(text: &str) -> &str {
    &text[..text.floor_char_boundary(MAX_HOST_FIELD_BYTES)]
}

/// Per-store context of the log capability.
#[derive(Debug)]
pub struct LogCtx {
    budget: Arc<LogBudget>,
}

impl LogCtx {
    /// The context of one store, logging within `budget`.
    pub fn new(budget: Arc<LogBudget>) -> Self {
        LogCtx { budget }
    }
}

impl Host for LogCtx {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.budget.emit(level, &message);
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
    &message[..message.floor_char_boundary(MAX_MESSAGE_BYTES)]
}

/// A plugin's stdout or stderr. Lines become log records: stdout at info, stderr
/// (where a Rust panic message goes) at warn.
#[derive(Debug, Clone)]
pub struct GuestOutput {
    budget: Arc<LogBudget>,
    level: Level,
}

impl GuestOutput {
    /// The guest's stdout, as log lines within `budget`.
    pub fn stdout(budget: Arc<LogBudget>) -> Self {
        GuestOutput { budget, level: Level::Info }
    }

    /// The guest's stderr, as log lines within `budget`.
    pub fn stderr(budget: Arc<LogBudget>) -> Self {
        GuestOutput { budget, level: Level::Warn }
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
        // Blank lines (a panic message ends with one) say nothing and would take budget.
        if !text.trim().is_empty() {
            self.output.budget.emit(self.output.level, text.trim_end());
        }
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

impl Capability for LogCtx {
    fn new(setup: &Setup<'_>) -> Self {
        LogCtx::new(setup.log.clone())
    }

    fn add_to_linker<T: PluginStore>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut Self) -> wasmtime::Result<()> {
        crate::bindings::link_every_version(linker, "log", |instance| {
            crate::bindings::hearth::plugin::log::add_to_linker_instance::<T, HasSelf<Self>>(instance, get)
        })
    }
}
