//! The household's appliances: what they are, and commands to them (only the command
//! kinds granted to the plugin, only with the household's control consent).

use crate::bindings::hearth::plugin::devices as wit;
pub use wit::{Command, DeviceError, DeviceInfo};

/// Kind, model and region of a device the plugin received events from.
pub fn describe(device: &str) -> Result<DeviceInfo, DeviceError> {
    wit::describe(device)
}

/// Queues `command` for the device; returns the command id.
pub fn send(device: &str, command: &Command) -> Result<String, DeviceError> {
    wit::send(device, command)
}

impl From<DeviceError> for crate::PluginError {
    fn from(error: DeviceError) -> Self {
        match error {
            DeviceError::UnknownDevice(message) => crate::PluginError::NotFound(format!("devices: {message}")),
            DeviceError::NotGranted(message) | DeviceError::NoConsent(message) | DeviceError::Invalid(message) => {
                crate::PluginError::Internal(format!("devices: {message}"))
            }
        }
    }
}
