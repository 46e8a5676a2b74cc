//! Values the operator set for this plugin.

use crate::bindings::hearth::plugin::config as wit;

/// The operator-set value for `key`, if any.
pub fn get(key: &str) -> Option<String> {
    wit::get(key)
}
