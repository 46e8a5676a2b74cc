//! Helpers on the service request/response records: JSON in, JSON out.

use crate::{PluginError, Result, ServiceRequest, ServiceResponse, UserRef};
use serde::Serialize;
use serde::de::DeserializeOwned;

impl ServiceRequest {
    /// The request body decoded from JSON. An empty body decodes as JSON `null`, so
    /// request types whose fields all have defaults accept it.
    pub fn input_json<T: DeserializeOwned>(&self) -> Result<T> {
        let input: &[u8] = if self.input.is_empty() { b"null" } else { &self.input };
        serde_json::from_slice(input).map_err(|error| {
            PluginError::InvalidInput(format!("{}.{}: request body: {error}", self.service, self.operation))
        })
    }

    /// The household the call is made for, or an `invalid-input` error naming the
    /// operation that needs one.
    pub fn require_household(&self) -> Result<&UserRef> {
        self.household
            .as_ref()
            .ok_or_else(|| PluginError::InvalidInput(format!("{}.{} needs a household", self.service, self.operation)))
    }
}

impl ServiceResponse {
    /// A response whose body is `value` as JSON.
    pub fn json<T: Serialize>(value: &T) -> Result<Self> {
        serde_json::to_vec(value)
            .map(|output| ServiceResponse { output })
            .map_err(|error| PluginError::Internal(format!("encoding the response: {error}")))
    }
}
