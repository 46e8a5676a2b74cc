//! Helpers on events: decoding the JSON of topics outside the catalogue.

use crate::{Event, EventBody, OtherEvent, PluginError, Result};
use serde::de::DeserializeOwned;

/// Topics outside the catalogue start with this: `ext.<publisher or vendor>.…`. Any
/// device may send them, with a JSON object body of at most 16 KiB; they reach
/// plugins as [`EventBody::Other`]. Appliance-cloud keys the host has no catalogue
/// place for arrive as `ext.homeconnect.…` or `ext.matter.…`.
pub const EXTENSION_PREFIX: &str = "ext.";

impl OtherEvent {
    /// Decodes the body into the plugin's own type; a body that does not fit is an
    /// [`PluginError::InvalidInput`] naming the topic (the host retries and finally
    /// dead-letters the event, so a partner sees it).
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Cycle { cycle: String }
    ///
    /// let other = hearth_sdk::OtherEvent { topic: "ext.acme.cycle".into(), json: r#"{"cycle":"eco"}"#.into() };
    /// assert_eq!(other.decode::<Cycle>().unwrap().cycle, "eco");
    /// assert!(other.decode::<u32>().is_err());
    /// ```
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.json)
            .map_err(|error| PluginError::InvalidInput(format!("the body of {} does not fit: {error}", self.topic)))
    }
}

impl Event {
    /// The body of an `other` event decoded into `T`; `None` for catalogue events.
    pub fn decode_other<T: DeserializeOwned>(&self) -> Option<Result<T>> {
        match &self.body {
            EventBody::Other(other) => Some(other.decode()),
            _ => None,
        }
    }

    /// Whether the event's topic is outside the catalogue (`ext.…`).
    pub fn is_extension(&self) -> bool {
        self.topic.starts_with(EXTENSION_PREFIX)
    }
}
