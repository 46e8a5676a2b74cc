//! Recipe service: keeps each household's fridge inventory from fridge-inventory
//! events and provides `recipes.suggest` (what can be cooked now, soon-expiring food
//! and well-rated dishes first, and near misses with what is missing),
//! `recipes.rate` (the household's 1–5 stars, used in ranking) and
//! `recipes.missing-quote` (a priced basket of a recipe's missing ingredients, from
//! whichever shop provides `shop.quote`). When an oven program finishes it asks how the
//! dish it last suggested turned out.

mod inventory;
mod recipes;
mod suggest;

use hearth_sdk::notify::{self, Action, Category, Notification};
use hearth_sdk::{Event, EventBody, Plugin, PluginError, ServiceRequest, ServiceResponse, kv, services};
use inventory::Inventory;
use serde::Deserialize;
use suggest::{Ratings, SuggestRequest};

pub use suggest::{Missing, Suggestion, Suggestions};

#[derive(Default)]
struct RecipeService;

fn inventory_key(household: &str) -> String {
    kv::household_key(household, "inventory")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rating {
    recipe: String,
    stars: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipeChoice {
    recipe: String,
}

fn recipe(id: &str) -> hearth_sdk::Result<&'static recipes::Recipe> {
    recipes::RECIPES
        .iter()
        .find(|recipe| recipe.id == id)
        .ok_or_else(|| PluginError::NotFound(format!("no recipe {id}")))
}

impl Plugin for RecipeService {
    fn on_event(&mut self, event: Event) -> hearth_sdk::Result<()> {
        match &event.body {
            EventBody::FridgeInventory(change) => {
                let key = inventory_key(&event.household);
                let mut inventory: Inventory = kv::get(&key)?.unwrap_or_default();
                if inventory.apply(&event.id, change) {
                    kv::set(&key, &inventory)?;
                } else {
                    hearth_sdk::debug!("event {} already applied", event.id);
                }
                Ok(())
            }
            EventBody::OvenProgramFinished(_) => {
                let last: Option<String> = kv::get(&kv::household_key(&event.household, "last-suggested"))?;
                let Some(dish) = last.as_deref().and_then(|id| recipe(id).ok()) else {
                    return Ok(());
                };
                let notification = Notification {
                    title: "How did it turn out?".into(),
                    body: format!("Your oven just finished. Rate the {} so we can suggest what you love.", dish.name),
                    category: Category::Info,
                    action: Some(Action {
                        label: "Rate it".into(),
                        operation: "recipes.rate".into(),
                        input: serde_json::json!({ "recipe": dish.id }).to_string(),
                    }),
                };
                notify::send(&event.household, &notification)?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn handle(&mut self, request: ServiceRequest) -> hearth_sdk::Result<ServiceResponse> {
        let household = request.require_household()?.clone();
        let ratings_key = kv::household_key(&household, "ratings");
        match (request.service.as_str(), request.operation.as_str()) {
            ("recipes", "suggest") => {
                let input: SuggestRequest = request.input_json()?;
                let inventory: Inventory = kv::get(&inventory_key(&household))?.unwrap_or_default();
                let ratings: Ratings = kv::get(&ratings_key)?.unwrap_or_default();
                let suggestions = suggest::suggest(&inventory, &ratings, &input, today()?);
                if let Some(top) = suggestions.ready.first() {
                    kv::set(&kv::household_key(&household, "last-suggested"), &top.id)?;
                }
                ServiceResponse::json(&suggestions)
            }
            ("recipes", "rate") => {
                let rating: Rating = request.input_json()?;
                if !(1..=5).contains(&rating.stars) {
                    return Err(PluginError::InvalidInput(format!("stars must be 1 to 5, got {}", rating.stars)));
                }
                recipe(&rating.recipe)?;
                let mut ratings: Ratings = kv::get(&ratings_key)?.unwrap_or_default();
                ratings.insert(rating.recipe, rating.stars);
                kv::set(&ratings_key, &ratings)?;
                ServiceResponse::json(&ratings)
            }
            ("recipes", "missing-quote") => {
                let choice: RecipeChoice = request.input_json()?;
                let dish = recipe(&choice.recipe)?;
                let inventory: Inventory = kv::get(&inventory_key(&household))?.unwrap_or_default();
                let missing = suggest::evaluate(dish, &inventory, today()?).missing;
                if missing.is_empty() {
                    return ServiceResponse::json(
                        &serde_json::json!({ "recipe": dish.id, "missing": [], "quote": null }),
                    );
                }
                let quote: serde_json::Value =
                    services::call("shop", "quote", Some(&household), &serde_json::json!({ "items": &missing }))?;
                ServiceResponse::json(&serde_json::json!({ "recipe": dish.id, "missing": missing, "quote": quote }))
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
