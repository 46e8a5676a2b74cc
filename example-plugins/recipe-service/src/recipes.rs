//! The embedded recipe book. Only ingredients a fridge tracks are listed; pantry
//! staples (flour, pasta, rice, oil, spices, tinned goods) are assumed on hand.

use crate::inventory::Unit::{self, Grams, Millilitres, Pieces};

/// One fridge ingredient of a recipe.
#[derive(Debug)]
pub struct Ingredient {
    pub item: &'static str,
    pub amount: u32,
    pub unit: Unit,
}

#[derive(Debug)]
pub struct Recipe {
    pub id: &'static str,
    pub name: &'static str,
    pub minutes: u32,
    pub ingredients: &'static [Ingredient],
}

const fn i(item: &'static str, amount: u32, unit: Unit) -> Ingredient {
    Ingredient { item, amount, unit }
}

#[rustfmt::skip]
pub const RECIPES: &[Recipe] = &[
    Recipe { id: "shakshuka", name: "Shakshuka", minutes: 30, ingredients: &[
        i("egg", 4, Pieces), i("tomato", 400, Grams), i("onion", 1, Pieces), i("bell pepper", 1, Pieces)] },
    Recipe { id: "spinach-feta-omelette", name: "Spinach and feta omelette", minutes: 10, ingredients: &[
        i("egg", 3, Pieces), i("spinach", 60, Grams), i("feta", 40, Grams)] },
    Recipe { id: "french-toast", name: "French toast", minutes: 15, ingredients: &[
        i("egg", 2, Pieces), i("whole milk", 120, Millilitres), i("bread", 4, Pieces), i("butter", 20, Grams)] },
    Recipe { id: "spaghetti-carbonara", name: "Spaghetti carbonara", minutes: 20, ingredients: &[
        i("egg", 3, Pieces), i("bacon", 150, Grams), i("parmesan", 50, Grams)] },
    Recipe { id: "caprese-salad", name: "Caprese salad", minutes: 10, ingredients: &[
        i("tomato", 300, Grams), i("mozzarella", 125, Grams), i("basil", 10, Grams)] },
    Recipe { id: "greek-salad", name: "Greek salad", minutes: 15, ingredients: &[
        i("tomato", 300, Grams), i("cucumber", 1, Pieces), i("feta", 150, Grams), i("red onion", 1, Pieces)] },
    Recipe { id: "tzatziki", name: "Tzatziki", minutes: 10, ingredients: &[
        i("greek yogurt", 250, Grams), i("cucumber", 1, Pieces), i("garlic", 2, Pieces)] },
    Recipe { id: "mushroom-risotto", name: "Mushroom risotto", minutes: 40, ingredients: &[
        i("mushroom", 250, Grams), i("onion", 1, Pieces), i("parmesan", 40, Grams), i("butter", 30, Grams)] },
    Recipe { id: "chicken-stir-fry", name: "Chicken and broccoli stir-fry", minutes: 25, ingredients: &[
        i("chicken breast", 400, Grams), i("broccoli", 300, Grams), i("bell pepper", 1, Pieces), i("carrot", 2, Pieces)] },
    Recipe { id: "lemon-dill-salmon", name: "Baked salmon with lemon and dill", minutes: 25, ingredients: &[
        i("salmon", 300, Grams), i("lemon", 1, Pieces), i("dill", 10, Grams)] },
    Recipe { id: "pancakes", name: "Pancakes", minutes: 20, ingredients: &[
        i("egg", 2, Pieces), i("whole milk", 300, Millilitres), i("butter", 30, Grams)] },
    Recipe { id: "quiche-lorraine", name: "Quiche lorraine", minutes: 60, ingredients: &[
        i("egg", 3, Pieces), i("cream", 200, Millilitres), i("bacon", 150, Grams), i("gruyere", 100, Grams)] },
    Recipe { id: "potato-gratin", name: "Potato gratin", minutes: 75, ingredients: &[
        i("potato", 1000, Grams), i("cream", 300, Millilitres), i("garlic", 1, Pieces), i("gruyere", 80, Grams)] },
    Recipe { id: "leek-potato-soup", name: "Leek and potato soup", minutes: 40, ingredients: &[
        i("leek", 2, Pieces), i("potato", 500, Grams), i("butter", 30, Grams), i("cream", 100, Millilitres)] },
    Recipe { id: "ratatouille", name: "Ratatouille", minutes: 60, ingredients: &[
        i("zucchini", 2, Pieces), i("eggplant", 1, Pieces), i("bell pepper", 2, Pieces), i("tomato", 400, Grams), i("onion", 1, Pieces)] },
    Recipe { id: "spaghetti-bolognese", name: "Spaghetti bolognese", minutes: 60, ingredients: &[
        i("ground beef", 500, Grams), i("tomato", 400, Grams), i("carrot", 1, Pieces), i("onion", 1, Pieces)] },
    Recipe { id: "chili-con-carne", name: "Chili con carne", minutes: 50, ingredients: &[
        i("ground beef", 500, Grams), i("onion", 1, Pieces), i("bell pepper", 1, Pieces), i("tomato", 400, Grams)] },
    Recipe { id: "mac-and-cheese", name: "Macaroni and cheese", minutes: 30, ingredients: &[
        i("cheddar", 200, Grams), i("whole milk", 500, Millilitres), i("butter", 40, Grams)] },
    Recipe { id: "broccoli-cheddar-soup", name: "Broccoli cheddar soup", minutes: 35, ingredients: &[
        i("broccoli", 400, Grams), i("cheddar", 150, Grams), i("whole milk", 300, Millilitres), i("onion", 1, Pieces)] },
    Recipe { id: "guacamole", name: "Guacamole", minutes: 10, ingredients: &[
        i("avocado", 3, Pieces), i("lime", 1, Pieces), i("tomato", 100, Grams), i("red onion", 1, Pieces)] },
    Recipe { id: "chicken-caesar-salad", name: "Chicken Caesar salad", minutes: 25, ingredients: &[
        i("chicken breast", 300, Grams), i("romaine lettuce", 1, Pieces), i("parmesan", 30, Grams), i("egg", 1, Pieces)] },
    Recipe { id: "zucchini-frittata", name: "Zucchini frittata", minutes: 25, ingredients: &[
        i("egg", 6, Pieces), i("zucchini", 1, Pieces), i("onion", 1, Pieces), i("parmesan", 30, Grams)] },
    Recipe { id: "tomato-soup", name: "Creamy tomato soup", minutes: 35, ingredients: &[
        i("tomato", 800, Grams), i("onion", 1, Pieces), i("cream", 100, Millilitres), i("basil", 10, Grams)] },
    Recipe { id: "cheeseburger", name: "Cheeseburgers", minutes: 25, ingredients: &[
        i("ground beef", 500, Grams), i("bread", 4, Pieces), i("cheddar", 100, Grams), i("romaine lettuce", 1, Pieces)] },
    Recipe { id: "yogurt-berry-bowl", name: "Yogurt and blueberry bowl", minutes: 5, ingredients: &[
        i("greek yogurt", 200, Grams), i("blueberry", 100, Grams)] },
];
