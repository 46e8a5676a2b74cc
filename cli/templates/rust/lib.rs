//! {{name}}: counts how often each household opens its fridge, and answers
//! `{{name}}.stats` with the count for the calling household.

use hearth_sdk::{DoorState, Event, EventBody, Plugin, PluginError, ServiceRequest, ServiceResponse, kv};

#[derive(Default)]
struct Counter;

impl Plugin for Counter {
    fn on_event(&mut self, event: Event) -> hearth_sdk::Result<()> {
        if let EventBody::FridgeDoor(DoorState::Open) = event.body {
            let key = kv::household_key(&event.household, "opens");
            let opens: u64 = kv::get(&key)?.unwrap_or(0);
            kv::set(&key, &(opens + 1))?;
        }
        Ok(())
    }

    fn handle(&mut self, request: ServiceRequest) -> hearth_sdk::Result<ServiceResponse> {
        if request.operation != "stats" {
            return Err(PluginError::NotFound(format!("no operation {}.{}", request.service, request.operation)));
        }
        let household = request.require_household()?;
        let opens: u64 = kv::get(&kv::household_key(household, "opens"))?.unwrap_or(0);
        ServiceResponse::json(&serde_json::json!({ "fridge_opens": opens }))
    }
}

hearth_sdk::register_plugin!(Counter);
