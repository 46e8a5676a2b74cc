//! Notifications plugins sent to households: stored per household, oldest first
//! (the `notifications` bucket, keys `household \0 sequence`), and the rate limit per
//! (plugin, household) in a sliding window.

use crate::HostError;
use crate::storage::{Bucket, BucketExt, Storage, decode_json, encode_json, scoped_key};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many notifications one plugin may send one household per window.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    /// Notifications per window.
    pub max: usize,
    /// The sliding window.
    pub window: Duration,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit { max: 20, window: Duration::from_secs(3600) }
    }
}

/// A button on a notification: a service operation the app calls with `input`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Action {
    /// What the button says.
    pub label: String,
    /// `service.operation` to call.
    pub operation: String,
    /// The call's input, JSON text.
    pub input: String,
}

/// A notification as the household sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Notification {
    /// `ntf-` and a sequence number.
    pub id: String,
    /// The plugin that sent it.
    pub plugin: String,
    /// One line.
    pub title: String,
    /// The text.
    pub body: String,
    /// `info`, `advice`, `offer`, `alert` or `urgent`.
    pub category: String,
    /// A button, if any.
    pub action: Option<Action>,
    /// When it was sent, ms since the epoch.
    pub time_ms: u64,
}

/// Stored notifications and the rate limiter.
pub struct Notifications {
    ids: Arc<dyn Storage>,
    bucket: Arc<dyn Bucket>,
    limit: RateLimit,
    recent: Mutex<HashMap<(String, String), VecDeque<u64>>>,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications").field("limit", &self.limit).finish_non_exhaustive()
    }
}

impl Notifications {
    /// Opens the bucket.
    pub fn open(storage: Arc<dyn Storage>, limit: RateLimit) -> Result<Self, HostError> {
        Ok(Notifications { bucket: storage.bucket("notifications")?, ids: storage, limit, recent: Mutex::default() })
    }

    /// How many a plugin may send a household per window.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// The household's notifications, oldest first.
    pub fn list(&self, household: &str) -> Result<Vec<Notification>, HostError> {
        let stored = self.bucket.scan(&scoped_key(household, ""))?;
        Ok(stored.iter().map(|(_, entry)| decode_json(&entry.value)).collect::<Result<_, _>>()?)
    }

    /// Deletes every notification of the household.
    pub fn erase(&self, household: &str) -> Result<usize, HostError> {
        Ok(self.bucket.delete_prefix(&scoped_key(household, ""))?)
    }

    /// Whether `plugin` may notify `household` once more now (counts it if so).
    pub fn admit(&self, plugin: &str, household: &str, now_ms: u64) -> bool {
        let mut recent = crate::sync::lock(&self.recent);
        let sent = recent.entry((plugin.to_owned(), household.to_owned())).or_default();
        let window_start = now_ms.saturating_sub(self.limit.window.as_millis() as u64);
        while sent.front().is_some_and(|&time| time < window_start) {
            sent.pop_front();
        }
        if sent.len() >= self.limit.max {
            return false;
        }
        sent.push_back(now_ms);
        true
    }

    /// Stores a notification for the household; returns its id.
    pub fn store(&self, household: &str, mut notification: Notification) -> Result<String, HostError> {
        let sequence = self.ids.next_id()?;
        notification.id = format!("ntf-{sequence}");
        let mut key = scoped_key(household, "").to_vec();
        key.extend_from_slice(&sequence.to_be_bytes());
        self.bucket.put(&key, &encode_json(&notification)?)?;
        Ok(notification.id)
    }
}
