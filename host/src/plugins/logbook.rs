//! Each plugin's log book: the last [`MAX_STORED_LINES`] lines about a plugin — its
//! own log lines and stdout/stderr, and the host's lines it caused (traps, timeouts,
//! denials, failed starts, dead letters) — kept in the store so that the operator and
//! the plugin's publisher can read them (`/v1/plugins/{id}/logs`).
//!
//! Lines are recorded in memory on the call path and stored by a background task
//! every [`STORE_INTERVAL`], so a plugin's call never waits on storage for its logs.
//! Recording is already bounded by the plugin's log budget (lines per second), and
//! lines waiting to be stored by [`MAX_PENDING_LINES`].
//!
//! Keys are `plugin \0 time-origin-counter`: time first, so a plugin's lines sort by
//! time, and the host's random origin, so that hosts of a cluster never overwrite one
//! another's lines. A reader pages with the last key it saw (the line's `cursor`).

use crate::HostError;
use crate::storage::{Bucket, BucketExt, Storage, StorageError, decode_json, encode_json, scoped_key, split_scoped};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Lines kept per plugin; older ones are deleted.
pub const MAX_STORED_LINES: usize = 1_000;
/// Lines recorded and not yet stored, for all plugins; more are dropped (and counted).
pub const MAX_PENDING_LINES: usize = 10_000;
/// How often recorded lines are stored.
pub const STORE_INTERVAL: Duration = Duration::from_millis(250);
/// Most lines one read returns.
pub const MAX_READ_LINES: usize = 1_000;

/// How much a log line matters; a plugin's lines below its level are not kept.
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Step by step detail.
    Trace = 0,
    /// What a developer wants while debugging.
    Debug = 1,
    /// The plugin's normal account of what it does (the default level).
    Info = 2,
    /// Something went wrong but the plugin goes on.
    Warn = 3,
    /// Something failed.
    Error = 4,
}

impl LogLevel {
    fn from_u8(value: u8) -> LogLevel {
        match value {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            _ => LogLevel::Error,
        }
    }
}

impl std::str::FromStr for LogLevel {
    type Err = HostError;

    fn from_str(text: &str) -> Result<Self, HostError> {
        match text {
            "trace" => Ok(LogLevel::Trace),
            "debug" => Ok(LogLevel::Debug),
            "info" => Ok(LogLevel::Info),
            "warn" => Ok(LogLevel::Warn),
            "error" => Ok(LogLevel::Error),
            _ => {
                Err(HostError::InvalidInput(format!("{text:?} is not a log level: trace, debug, info, warn or error")))
            }
        }
    }
}

/// Who wrote a line.
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    /// The plugin: `hearth:plugin/log`, stdout or stderr.
    Plugin,
    /// The host, about the plugin: a trap, a timeout, a denial, a dead letter.
    Host,
}

/// One stored line.
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// Where the line is in the plugin's book: pass it as `after` to read on.
    #[serde(default)]
    pub cursor: String,
    /// When it was written, in ms since the Unix epoch.
    pub time_ms: u64,
    /// Its level.
    pub level: LogLevel,
    /// Who wrote it.
    pub source: LogSource,
    /// The text.
    pub message: String,
}

/// Every plugin's log book on this host.
#[derive(Debug)]
pub struct LogBook {
    lines: Arc<dyn Bucket>,
    levels: Arc<dyn Bucket>,
    /// This host's part of every key: hosts of a cluster write the same books.
    origin: String,
    counter: AtomicU64,
    pending: Mutex<Vec<(Arc<str>, LogLine)>>,
    pending_dropped: AtomicU64,
    /// Lines each plugin's book holds, as last counted (with what this host added).
    stored: Mutex<HashMap<Arc<str>, usize>>,
    /// Each plugin's level, shared with its running budget.
    level_cells: Mutex<HashMap<String, Arc<AtomicU8>>>,
}

impl LogBook {
    /// Opens the books and starts the task that stores recorded lines and follows level
    /// changes (made here or by another host); it ends when the book is dropped.
    pub fn open(storage: &dyn Storage) -> Result<Arc<LogBook>, HostError> {
        let origin = getrandom::u32().unwrap_or_default();
        let book = Arc::new(LogBook {
            lines: storage.bucket("plugin-logs")?,
            levels: storage.bucket("plugin-log-levels")?,
            origin: format!("{origin:08x}"),
            counter: AtomicU64::new(0),
            pending: Mutex::new(Vec::new()),
            pending_dropped: AtomicU64::new(0),
            stored: Mutex::new(HashMap::new()),
            level_cells: Mutex::new(HashMap::new()),
        });
        let mut levels = book.levels.watch(b"")?;
        let weak = Arc::downgrade(&book);
        tokio::spawn(async move {
            while let Some(change) = levels.next().await {
                let Some(book) = weak.upgrade() else { return };
                let level = change.entry.and_then(|entry| decode_json(&entry.value).ok()).unwrap_or(LogLevel::Info);
                book.level_cell(&String::from_utf8_lossy(&change.key)).store(level as u8, Ordering::Relaxed);
            }
        });
        tokio::spawn(store_periodically(Arc::downgrade(&book)));
        Ok(book)
    }

    /// The level cell of `plugin`, read from the store the first time.
    pub fn level_cell(&self, plugin: &str) -> Arc<AtomicU8> {
        let mut cells = crate::sync::lock(&self.level_cells);
        if let Some(cell) = cells.get(plugin) {
            return cell.clone();
        }
        let stored = self.levels.get_json::<LogLevel>(plugin.as_bytes()).ok().flatten().unwrap_or(LogLevel::Info);
        let cell = Arc::new(AtomicU8::new(stored as u8));
        cells.insert(plugin.to_owned(), cell.clone());
        cell
    }

    /// The lowest level of `plugin`'s own lines that is kept.
    pub fn level(&self, plugin: &str) -> LogLevel {
        LogLevel::from_u8(self.level_cell(plugin).load(Ordering::Relaxed))
    }

    /// Sets the lowest level of `plugin`'s own lines that is kept, on every host.
    pub fn set_level(&self, plugin: &str, level: LogLevel) -> Result<(), HostError> {
        self.levels.put(plugin.as_bytes(), &encode_json(&level)?)?;
        self.level_cell(plugin).store(level as u8, Ordering::Relaxed);
        Ok(())
    }

    /// Records a line for storing at the next tick (the caller keeps within the
    /// plugin's budget).
    pub fn record(&self, plugin: &Arc<str>, level: LogLevel, source: LogSource, message: String) {
        let line = LogLine { cursor: String::new(), time_ms: crate::clock::now_ms(), level, source, message };
        let mut pending = crate::sync::lock(&self.pending);
        if pending.len() >= MAX_PENDING_LINES {
            self.pending_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        pending.push((plugin.clone(), line));
    }

    /// Stores the recorded lines and deletes each plugin's lines past the bound.
    pub fn store_pending(&self) -> Result<(), HostError> {
        let pending = std::mem::take(&mut *crate::sync::lock(&self.pending));
        let dropped = self.pending_dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(dropped, "plugin log lines dropped: more than {MAX_PENDING_LINES} waited to be stored");
        }
        let mut added: HashMap<Arc<str>, usize> = HashMap::new();
        for (plugin, line) in pending {
            let counter = self.counter.fetch_add(1, Ordering::Relaxed);
            let cursor = format!("{:013}-{}-{counter:012}", line.time_ms, self.origin);
            self.lines.put(&scoped_key(&plugin, &cursor), &encode_json(&line)?)?;
            *added.entry(plugin).or_default() += 1;
        }
        for (plugin, count) in added {
            let known = crate::sync::lock(&self.stored).get(&plugin).copied();
            let total = match known {
                Some(known) => known + count,
                None => self.lines.keys(&scoped_key(&plugin, ""))?.len(),
            };
            // Trim in steps of a tenth of the bound, not a scan of the book per tick.
            let total = if total > MAX_STORED_LINES + MAX_STORED_LINES / 10 { self.trim(&plugin)? } else { total };
            crate::sync::lock(&self.stored).insert(plugin, total);
        }
        Ok(())
    }

    /// Deletes the oldest lines past the bound; returns how many are left.
    fn trim(&self, plugin: &str) -> Result<usize, StorageError> {
        let keys = self.lines.keys(&scoped_key(plugin, ""))?;
        let excess = keys.len().saturating_sub(MAX_STORED_LINES);
        for key in &keys[..excess] {
            self.lines.delete(key)?;
        }
        Ok(keys.len() - excess)
    }

    /// Up to `limit` of `plugin`'s stored lines after `after` (a line's cursor; from
    /// the oldest kept when `None`), oldest first.
    pub fn read(&self, plugin: &str, after: Option<&str>, limit: usize) -> Result<Vec<LogLine>, HostError> {
        let mut lines = Vec::new();
        for (key, entry) in self.lines.scan(&scoped_key(plugin, ""))? {
            let Some((_, cursor)) = split_scoped(&key) else { continue };
            if after.is_some_and(|after| cursor <= after) {
                continue;
            }
            let mut line: LogLine = decode_json(&entry.value)?;
            line.cursor = cursor.to_owned();
            lines.push(line);
            if lines.len() >= limit.min(MAX_READ_LINES) {
                break;
            }
        }
        Ok(lines)
    }

    /// Deletes `plugin`'s book and level (it was removed); returns the lines deleted.
    pub fn remove_plugin(&self, plugin: &str) -> Result<usize, HostError> {
        crate::sync::lock(&self.pending).retain(|(owner, _)| &**owner != plugin);
        crate::sync::lock(&self.stored).remove(plugin);
        self.levels.delete(plugin.as_bytes())?;
        Ok(self.lines.delete_prefix(&scoped_key(plugin, ""))?)
    }
}

async fn store_periodically(book: Weak<LogBook>) {
    loop {
        tokio::time::sleep(STORE_INTERVAL).await;
        let Some(book) = book.upgrade() else { return };
        if let Err(error) = book.store_pending() {
            tracing::error!(%error, "storing plugin log lines failed");
        }
    }
}
