//! `recipes.suggest`: which recipes a household can cook now, and which it nearly can.

use crate::inventory::{Inventory, Unit};
use crate::recipes::{RECIPES, Recipe};
use serde::{Deserialize, Serialize};

/// Items whose best-before is at most this many days away count as expiring.
const EXPIRING_WITHIN_DAYS: i64 = 3;

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SuggestRequest {
    /// At most this many recipes in each list.
    pub limit: usize,
    /// Recipes missing more ingredients than this are not near misses.
    pub max_missing: usize,
}

impl Default for SuggestRequest {
    fn default() -> Self {
        SuggestRequest { limit: 5, max_missing: 2 }
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Suggestions {
    /// Recipes every fridge ingredient is there for, best first.
    pub ready: Vec<Suggestion>,
    /// Recipes missing up to `max_missing` ingredients, fewest missing first.
    pub near_misses: Vec<Suggestion>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Suggestion {
    pub id: String,
    pub name: String,
    pub minutes: u32,
    /// Ingredients used that pass their best-before within a few days.
    pub uses_expiring: Vec<String>,
    pub missing: Vec<Missing>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Missing {
    pub item: String,
    /// How much more is needed.
    pub amount: u32,
    pub unit: Unit,
}

/// The household's ratings, 1 to 5 stars by recipe id.
pub type Ratings = std::collections::BTreeMap<String, u8>;

/// Ranks the recipe book against `inventory` as of `today` (days since the epoch).
pub fn suggest(inventory: &Inventory, ratings: &Ratings, request: &SuggestRequest, today: i64) -> Suggestions {
    let mut ready = Vec::new();
    let mut near_misses = Vec::new();
    for recipe in RECIPES {
        let suggestion = evaluate(recipe, inventory, today);
        if suggestion.missing.is_empty() {
            ready.push(suggestion);
        } else if suggestion.missing.len() <= request.max_missing {
            near_misses.push(suggestion);
        }
    }
    // Cooking what is about to expire first wastes least; then what the household
    // liked; then the quickest dish. Unrated recipes count as 3 stars.
    let stars = |suggestion: &Suggestion| ratings.get(&suggestion.id).copied().unwrap_or(3);
    ready.sort_by(|a, b| {
        b.uses_expiring
            .len()
            .cmp(&a.uses_expiring.len())
            .then(stars(b).cmp(&stars(a)))
            .then(a.minutes.cmp(&b.minutes))
            .then(a.name.cmp(&b.name))
    });
    near_misses.sort_by(|a, b| {
        a.missing
            .len()
            .cmp(&b.missing.len())
            .then(b.uses_expiring.len().cmp(&a.uses_expiring.len()))
            .then(a.minutes.cmp(&b.minutes))
            .then(a.name.cmp(&b.name))
    });
    ready.truncate(request.limit);
    near_misses.truncate(request.limit);
    Suggestions { ready, near_misses }
}

pub fn evaluate(recipe: &Recipe, inventory: &Inventory, today: i64) -> Suggestion {
    let mut uses_expiring = Vec::new();
    let mut missing = Vec::new();
    for ingredient in recipe.ingredients {
        // Food past its best-before date is not cooked with.
        let have = inventory
            .items
            .get(ingredient.item)
            .filter(|stock| stock.unit == ingredient.unit && stock.best_before_day.is_none_or(|day| day >= today));
        let have_amount = have.map_or(0, |stock| stock.amount);
        if have_amount < ingredient.amount {
            missing.push(Missing {
                item: ingredient.item.to_owned(),
                amount: ingredient.amount - have_amount,
                unit: ingredient.unit,
            });
        } else if have.and_then(|stock| stock.best_before_day).is_some_and(|day| day - today <= EXPIRING_WITHIN_DAYS) {
            uses_expiring.push(ingredient.item.to_owned());
        }
    }
    Suggestion {
        id: recipe.id.to_owned(),
        name: recipe.name.to_owned(),
        minutes: recipe.minutes,
        uses_expiring,
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Stock;

    const TODAY: i64 = 20_781;

    fn stock(items: &[(&str, u32, Unit, Option<i64>)]) -> Inventory {
        let mut inventory = Inventory::default();
        for (item, amount, unit, best_before_day) in items {
            inventory
                .items
                .insert((*item).to_owned(), Stock { amount: *amount, unit: *unit, best_before_day: *best_before_day });
        }
        inventory
    }

    fn ids(list: &[Suggestion]) -> Vec<&str> {
        list.iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn the_book_has_at_least_twenty_distinct_recipes() {
        let mut ids: Vec<_> = RECIPES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert!(ids.len() >= 20, "{} recipes", ids.len());
        assert!(RECIPES.iter().all(|r| !r.ingredients.is_empty()));
    }

    #[test]
    fn empty_fridge_suggests_nothing_ready() {
        let suggestions = suggest(&Inventory::default(), &Ratings::new(), &SuggestRequest::default(), TODAY);
        assert!(suggestions.ready.is_empty());
        // Only the two-ingredient yogurt bowl is within two missing items.
        assert_eq!(ids(&suggestions.near_misses), ["yogurt-berry-bowl"]);
    }

    #[test]
    fn expiring_ingredients_rank_first_and_near_misses_list_what_is_missing() {
        let inventory = stock(&[
            ("egg", 6, Unit::Pieces, None),
            ("spinach", 100, Unit::Grams, Some(TODAY + 1)),
            ("feta", 200, Unit::Grams, None),
            ("whole milk", 1000, Unit::Millilitres, None),
            ("butter", 250, Unit::Grams, None),
            ("bacon", 100, Unit::Grams, None),
        ]);
        let suggestions = suggest(&inventory, &Ratings::new(), &SuggestRequest::default(), TODAY);
        assert_eq!(ids(&suggestions.ready), ["spinach-feta-omelette", "pancakes"]);
        assert_eq!(suggestions.ready[0].uses_expiring, ["spinach"]);
        let carbonara = suggestions.near_misses.iter().find(|s| s.id == "spaghetti-carbonara").expect("carbonara");
        assert_eq!(
            carbonara.missing,
            [
                Missing { item: "bacon".into(), amount: 50, unit: Unit::Grams },
                Missing { item: "parmesan".into(), amount: 50, unit: Unit::Grams },
            ]
        );
        assert!(suggestions.near_misses.windows(2).all(|w| w[0].missing.len() <= w[1].missing.len()));
    }

    #[test]
    fn ratings_break_ties_between_equally_urgent_recipes() {
        let inventory = stock(&[
            ("egg", 6, Unit::Pieces, None),
            ("feta", 200, Unit::Grams, None),
            ("spinach", 100, Unit::Grams, None),
            ("whole milk", 1000, Unit::Millilitres, None),
            ("butter", 250, Unit::Grams, None),
        ]);
        let unrated = suggest(&inventory, &Ratings::new(), &SuggestRequest::default(), TODAY);
        assert_eq!(ids(&unrated.ready), ["spinach-feta-omelette", "pancakes"], "quickest first");
        let ratings = Ratings::from([("pancakes".to_owned(), 5), ("spinach-feta-omelette".to_owned(), 2)]);
        let rated = suggest(&inventory, &ratings, &SuggestRequest::default(), TODAY);
        assert_eq!(ids(&rated.ready), ["pancakes", "spinach-feta-omelette"], "loved first");
    }

    #[test]
    fn expired_food_counts_as_missing() {
        let inventory = stock(&[
            ("egg", 6, Unit::Pieces, None),
            ("whole milk", 1000, Unit::Millilitres, Some(TODAY - 1)),
            ("butter", 250, Unit::Grams, None),
        ]);
        let suggestions = suggest(&inventory, &Ratings::new(), &SuggestRequest::default(), TODAY);
        assert!(suggestions.ready.is_empty());
        let pancakes = suggestions.near_misses.iter().find(|s| s.id == "pancakes").expect("pancakes");
        assert_eq!(pancakes.missing, [Missing { item: "whole milk".into(), amount: 300, unit: Unit::Millilitres }]);
    }

    #[test]
    fn limit_and_max_missing_are_respected() {
        let inventory = stock(&[("egg", 12, Unit::Pieces, None), ("tomato", 1000, Unit::Grams, None)]);
        let request = SuggestRequest { limit: 2, max_missing: 1 };
        let suggestions = suggest(&inventory, &Ratings::new(), &request, TODAY);
        assert!(suggestions.near_misses.len() <= 2);
        assert!(suggestions.near_misses.iter().all(|s| s.missing.len() == 1));
    }
}
