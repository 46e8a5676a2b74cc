//! Notifications to a household's app. The household must have granted the plugin
//! access; notifications are rate-limited per household (an error, not a trap).

use crate::bindings::hearth::plugin::notify as wit;
pub use wit::{Action, Category, Notification, NotifyError};

/// Sends `notification` to the household behind `household` (a ref the plugin got in
/// an event or a service request); returns the notification id.
pub fn send(household: &str, notification: &Notification) -> Result<String, NotifyError> {
    wit::send(household, notification)
}

/// A notification without an action.
pub fn simple(category: Category, title: impl Into<String>, body: impl Into<String>) -> Notification {
    Notification { title: title.into(), body: body.into(), category, action: None }
}

impl From<NotifyError> for crate::PluginError {
    fn from(error: NotifyError) -> Self {
        match error {
            NotifyError::RateLimited(message) => crate::PluginError::Unavailable(format!("notify: {message}")),
            NotifyError::UnknownHousehold(message) => crate::PluginError::NotFound(format!("notify: {message}")),
            NotifyError::Invalid(message) | NotifyError::NotGranted(message) => {
                crate::PluginError::Internal(format!("notify: {message}"))
            }
        }
    }
}
