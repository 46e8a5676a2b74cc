//! Recipe service: keeps each household's fridge inventory from fridge-inventory
//! events and provides `recipes.suggest`, the recipes the household can cook now
//! (those using soon-expiring food first) and the near misses with what is missing.

mod inventory;
mod recipes;
mod suggest;

use hearth_sdk::{Event, EventBody, Plugin, PluginError, ServiceRequest, ServiceResponse, kv};
use inventory::Inventory;
use suggest::SuggestRequest;

pub use suggest::{Missing, Suggestion, Suggestions};

#[derive(Default)]
struct RecipeService;

fn inventory_key(household: &str) -> String {
    kv::household_key(household, "inventory")
}

impl Plugin for RecipeService {
    fn on_event(&mut self, event: Event) -> hearth_sdk::Result<()> {
        let EventBody::FridgeInventory(change) = &event.body else {
            return Ok(());
        };
        let key = inventory_key(&event.household);
        let mut inventory: Inventory = kv::get(&key)?.unwrap_or_default();
        if inventory.apply(&event.id, change) {
            kv::set(&key, &inventory)?;
        } else {
            hearth_sdk::debug!("event {} already applied", event.id);
        }
        Ok(())
    }

    fn handle(&mut self, request: ServiceRequest) -> hearth_sdk::Result<ServiceResponse> {
        match (request.service.as_str(), request.operation.as_str()) {
            ("recipes", "suggest") => {
                let household = request.require_household()?;
                let input: SuggestRequest = request.input_json()?;
                let inventory: Inventory = kv::get(&inventory_key(household))?.unwrap_or_default();
                ServiceResponse::json(&suggest::suggest(&inventory, &input, today()?))
            }
            (service, operation) => Err(PluginError::NotFound(format!("no operation {service}.{operation}"))),
        }
    }
}

/// Today in days since the epoch, from the host's wall clock.
fn today() -> hearth_sdk::Result<i64> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|error| PluginError::Internal(format!("clock before 1970: {error}")))?;
    Ok(i64::try_from(now.as_secs() / 86_400).unwrap_or(i64::MAX))
}

hearth_sdk::register_plugin!(RecipeService);
