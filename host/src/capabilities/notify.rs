//! `hearth:plugin/notify`: notifications to a household's app.
//!
//! A plugin may notify only households that granted it access, by the ref it was
//! given. Notifications are stored per household, newest last, and rate-limited per
//! (plugin, household) in a sliding window.

use crate::HostError;
use crate::bindings::hearth::plugin::notify::{self as wit, Host, NotifyError};
use crate::households::Households;
use crate::refs::Pseudonyms;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const MAX_TITLE_BYTES: usize = 120;
pub const MAX_BODY_BYTES: usize = 2_000;

/// How many notifications one plugin may send one household per window.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub max: usize,
    pub window: Duration,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit { max: 20, window: Duration::from_secs(3600) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub label: String,
    pub operation: String,
    pub input: String,
}

/// A notification as the household sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub plugin: String,
    pub title: String,
    pub body: String,
    /// `info`, `advice`, `offer`, `alert` or `urgent`.
    pub category: String,
    pub action: Option<Action>,
    pub time_ms: u64,
}

/// Stored notifications and the rate limiter.
pub struct Notifications {
    db: sled::Db,
    tree: sled::Tree,
    limit: RateLimit,
    recent: Mutex<HashMap<(String, String), VecDeque<u64>>>,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications").field("limit", &self.limit).finish_non_exhaustive()
    }
}

impl Notifications {
    pub fn open(db: &sled::Db, limit: RateLimit) -> Result<Self, HostError> {
        Ok(Notifications { db: db.clone(), tree: db.open_tree("notifications")?, limit, recent: Mutex::default() })
    }

    /// The household's notifications, oldest first.
    pub fn list(&self, household: &str) -> Result<Vec<Notification>, HostError> {
        let mut prefix = household.as_bytes().to_vec();
        prefix.push(0);
        self.tree
            .scan_prefix(prefix)
            .values()
            .map(|value| {
                serde_json::from_slice(&value?).map_err(|error| HostError::Corrupt(format!("notification: {error}")))
            })
            .collect()
    }

    /// Deletes every notification of the household.
    pub fn erase(&self, household: &str) -> Result<usize, HostError> {
        let mut prefix = household.as_bytes().to_vec();
        prefix.push(0);
        let mut erased = 0;
        for key in self.tree.scan_prefix(prefix).keys() {
            self.tree.remove(key?)?;
            erased += 1;
        }
        Ok(erased)
    }

    fn admit(&self, plugin: &str, household: &str, now_ms: u64) -> bool {
        let mut recent = self.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
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

    fn store(&self, household: &str, mut notification: Notification) -> Result<String, HostError> {
        let sequence = self.db.generate_id()?;
        notification.id = format!("ntf-{sequence}");
        let mut key = household.as_bytes().to_vec();
        key.push(0);
        key.extend_from_slice(&sequence.to_be_bytes());
        let bytes = serde_json::to_vec(&notification).map_err(|error| HostError::Corrupt(error.to_string()))?;
        self.tree.insert(key, bytes)?;
        Ok(notification.id)
    }
}

/// Per-store context of the notify capability.
pub struct NotifyCtx {
    pub(crate) plugin: Arc<str>,
    pub(crate) notifications: Arc<Notifications>,
    pub(crate) refs: Pseudonyms,
    pub(crate) households: Households,
}

fn category_name(category: wit::Category) -> &'static str {
    match category {
        wit::Category::Info => "info",
        wit::Category::Advice => "advice",
        wit::Category::Offer => "offer",
        wit::Category::Alert => "alert",
        wit::Category::Urgent => "urgent",
    }
}

/// The real household behind `reference`, if the plugin was given that ref and still
/// has the household's grant.
pub(crate) fn consenting_household(
    refs: &Pseudonyms,
    households: &Households,
    plugin: &str,
    reference: &str,
) -> Result<Option<String>, HostError> {
    let Some(household) = refs.resolve(plugin, reference)? else {
        return Ok(None);
    };
    Ok(households.grant_of(&household, plugin)?.map(|_| household))
}

impl Host for NotifyCtx {
    fn send(
        &mut self,
        household: String,
        notification: wit::Notification,
    ) -> wasmtime::Result<Result<String, NotifyError>> {
        let resolved = consenting_household(&self.refs, &self.households, &self.plugin, &household)
            .map_err(|error| wasmtime::format_err!("notify: {error}"))?;
        let Some(real_household) = resolved else {
            return Ok(Err(NotifyError::UnknownHousehold(format!("no consenting household with ref {household}"))));
        };
        let title = notification.title.trim();
        if title.is_empty() || title.len() > MAX_TITLE_BYTES || notification.body.len() > MAX_BODY_BYTES {
            return Ok(Err(NotifyError::Invalid(format!(
                "a title is 1 to {MAX_TITLE_BYTES} bytes and a body at most {MAX_BODY_BYTES}"
            ))));
        }
        let now = crate::clock::now_ms();
        if !self.notifications.admit(&self.plugin, &real_household, now) {
            let limit = self.notifications.limit;
            return Ok(Err(NotifyError::RateLimited(format!(
                "at most {} notifications per household every {:?}",
                limit.max, limit.window
            ))));
        }
        let stored = Notification {
            id: String::new(),
            plugin: self.plugin.to_string(),
            title: title.to_owned(),
            body: notification.body,
            category: category_name(notification.category).to_owned(),
            action: notification.action.map(|action| Action {
                label: action.label,
                operation: action.operation,
                input: action.input,
            }),
            time_ms: now,
        };
        let id = self
            .notifications
            .store(&real_household, stored)
            .map_err(|error| wasmtime::format_err!("notify: {error}"))?;
        Ok(Ok(id))
    }
}
