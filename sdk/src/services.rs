//! Calling other plugins' services through the host (only operations listed in the
//! manifest's `[services] calls`).

use crate::bindings::hearth::plugin::services as wit;
use crate::{PluginError, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
pub use wit::CallError;

/// Calls `service.operation` with `input` as JSON and decodes the JSON answer.
pub fn call<I: Serialize + ?Sized, O: DeserializeOwned>(
    service: &str,
    operation: &str,
    household: Option<&str>,
    input: &I,
) -> Result<O> {
    let body = serde_json::to_vec(input)
        .map_err(|error| PluginError::Internal(format!("encoding the {service}.{operation} request: {error}")))?;
    let answer = wit::call(service, operation, household, &body)?;
    serde_json::from_slice(&answer)
        .map_err(|error| PluginError::Internal(format!("{service}.{operation} answered unexpected JSON: {error}")))
}

impl From<CallError> for PluginError {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Failed(error) => error,
            CallError::NotFound(message) => PluginError::NotFound(message),
            CallError::Unavailable(message) => PluginError::Unavailable(message),
            CallError::NotAllowed(message) | CallError::Cycle(message) => PluginError::Internal(message),
        }
    }
}
