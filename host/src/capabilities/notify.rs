//! `hearth:plugin/notify`: notifications to a household's app.
//!
//! A plugin may notify only households that granted it access, by the ref it was
//! given. Notifications are stored per household, newest last, and rate-limited per
//! (plugin, household) in a sliding window.

use super::{Capability, PluginStore, Setup, Ungranted};
use crate::bindings::hearth::plugin::notify::{self as wit, Host, NotifyError};
use crate::households::notifications::{Action, Notification, Notifications};
use crate::households::refs::Pseudonyms;
use crate::households::{Households, consenting_household};
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker};

/// Longest title, in bytes.
pub const MAX_TITLE_BYTES: usize = 120;
/// Longest body, in bytes.
pub const MAX_BODY_BYTES: usize = 2_000;

/// Per-store context of the notify capability.
pub struct NotifyCtx {
    pub(crate) plugin: Arc<str>,
    pub(crate) notifications: Arc<Notifications>,
    pub(crate) refs: Pseudonyms,
    pub(crate) households: Households,
    /// Set when the manifest does not request notify: every call is refused.
    ungranted: Option<Ungranted>,
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

impl Host for NotifyCtx {
    fn send(
        &mut self,
        household: String,
        notification: wit::Notification,
    ) -> wasmtime::Result<Result<String, NotifyError>> {
        if let Some(ungranted) = &self.ungranted {
            return Ok(Err(NotifyError::NotGranted(ungranted.refuse("notify.send"))));
        }
        let resolved = consenting_household(&self.refs, &self.households, &self.plugin, &household)
            .map_err(|error| super::backend_failed("notify", error))?;
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
            let limit = self.notifications.limit();
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
            .map_err(|error| super::backend_failed("notify", error))?;
        Ok(Ok(id))
    }
}

impl Capability for NotifyCtx {
    fn new(setup: &Setup<'_>) -> Self {
        let backends = setup.backends;
        NotifyCtx {
            plugin: setup.plugin.clone(),
            notifications: backends.notifications.clone(),
            refs: backends.refs.clone(),
            households: backends.households.clone(),
            ungranted: Ungranted::unless(setup.grants.notify, super::manifest_line::NOTIFY, setup),
        }
    }

    fn add_to_linker<T: PluginStore>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut Self) -> wasmtime::Result<()> {
        crate::bindings::hearth::plugin::notify::add_to_linker::<T, HasSelf<Self>>(linker, get)?;
        crate::bindings::v0_1::hearth::plugin::notify::add_to_linker::<T, HasSelf<Self>>(linker, get)
    }
}

/// `hearth:plugin/notify@0.1.0`: the same call. 0.1 has no `not-granted`: a refusal is
/// `invalid`, with the same message.
mod v0_1 {
    use super::NotifyCtx;
    use super::wit::{Action, Category, Notification, NotifyError};
    use crate::bindings::v0_1::hearth::plugin::notify::{self as old, Host};

    fn category(category: old::Category) -> Category {
        match category {
            old::Category::Info => Category::Info,
            old::Category::Advice => Category::Advice,
            old::Category::Offer => Category::Offer,
            old::Category::Alert => Category::Alert,
            old::Category::Urgent => Category::Urgent,
        }
    }

    impl Host for NotifyCtx {
        fn send(
            &mut self,
            household: String,
            notification: old::Notification,
        ) -> wasmtime::Result<Result<String, old::NotifyError>> {
            let notification = Notification {
                title: notification.title,
                body: notification.body,
                category: category(notification.category),
                action: notification.action.map(|action| Action {
                    label: action.label,
                    operation: action.operation,
                    input: action.input,
                }),
            };
            Ok(super::Host::send(self, household, notification)?.map_err(|error| match error {
                NotifyError::UnknownHousehold(message) => old::NotifyError::UnknownHousehold(message),
                NotifyError::RateLimited(message) => old::NotifyError::RateLimited(message),
                NotifyError::Invalid(message) | NotifyError::NotGranted(message) => old::NotifyError::Invalid(message),
            }))
        }
    }
}
