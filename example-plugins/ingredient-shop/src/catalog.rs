//! The shop's price list (EUR, minor units) and the staples it keeps households
//! stocked with.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Pieces,
    Grams,
    Millilitres,
}

/// One product: a pack of `pack_amount` of `item`.
#[derive(Debug)]
pub struct Product {
    pub sku: &'static str,
    pub item: &'static str,
    pub name: &'static str,
    pub pack_amount: u32,
    pub unit: Unit,
    pub price_minor: u64,
}

const fn p(
    sku: &'static str,
    item: &'static str,
    name: &'static str,
    pack_amount: u32,
    unit: Unit,
    price_minor: u64,
) -> Product {
    Product { sku, item, name, pack_amount, unit, price_minor }
}

pub const CURRENCY: &str = "EUR";

#[rustfmt::skip]
pub const PRODUCTS: &[Product] = &[
    p("FC-EGG-10", "egg", "Free-range eggs, 10", 10, Unit::Pieces, 389),
    p("FC-MLK-1L", "whole milk", "Whole milk, 1 l", 1000, Unit::Millilitres, 129),
    p("FC-BUT-250", "butter", "Butter, 250 g", 250, Unit::Grams, 249),
    p("FC-BRD-500", "bread", "Sourdough loaf, 10 slices", 10, Unit::Pieces, 349),
    p("FC-YOG-500", "greek yogurt", "Greek yogurt, 500 g", 500, Unit::Grams, 279),
    p("FC-CRM-200", "cream", "Cream, 200 ml", 200, Unit::Millilitres, 119),
    p("FC-CHD-200", "cheddar", "Mature cheddar, 200 g", 200, Unit::Grams, 299),
    p("FC-PAR-100", "parmesan", "Parmigiano Reggiano, 100 g", 100, Unit::Grams, 349),
    p("FC-MOZ-125", "mozzarella", "Mozzarella, 125 g", 125, Unit::Grams, 119),
    p("FC-FET-200", "feta", "Feta, 200 g", 200, Unit::Grams, 229),
    p("FC-GRU-200", "gruyere", "Gruyère, 200 g", 200, Unit::Grams, 449),
    p("FC-BAC-150", "bacon", "Smoked bacon, 150 g", 150, Unit::Grams, 279),
    p("FC-CHK-400", "chicken breast", "Chicken breast, 400 g", 400, Unit::Grams, 599),
    p("FC-BEF-500", "ground beef", "Ground beef, 500 g", 500, Unit::Grams, 649),
    p("FC-SAL-300", "salmon", "Salmon fillets, 300 g", 300, Unit::Grams, 799),
    p("FC-TOM-500", "tomato", "Vine tomatoes, 500 g", 500, Unit::Grams, 249),
    p("FC-ONI-3", "onion", "Onions, 3", 3, Unit::Pieces, 99),
    p("FC-RON-3", "red onion", "Red onions, 3", 3, Unit::Pieces, 119),
    p("FC-GAR-1", "garlic", "Garlic bulb (10 cloves)", 10, Unit::Pieces, 79),
    p("FC-PEP-2", "bell pepper", "Bell peppers, 2", 2, Unit::Pieces, 199),
    p("FC-SPN-200", "spinach", "Baby spinach, 200 g", 200, Unit::Grams, 229),
    p("FC-MSH-250", "mushroom", "Chestnut mushrooms, 250 g", 250, Unit::Grams, 199),
    p("FC-BRC-400", "broccoli", "Broccoli, 400 g", 400, Unit::Grams, 149),
    p("FC-CAR-500", "carrot", "Carrots, 6", 6, Unit::Pieces, 89),
    p("FC-POT-1K", "potato", "Potatoes, 1 kg", 1000, Unit::Grams, 199),
    p("FC-LEK-2", "leek", "Leeks, 2", 2, Unit::Pieces, 179),
    p("FC-ZUC-2", "zucchini", "Zucchini, 2", 2, Unit::Pieces, 169),
    p("FC-EGP-1", "eggplant", "Eggplant", 1, Unit::Pieces, 129),
    p("FC-CUC-1", "cucumber", "Cucumber", 1, Unit::Pieces, 69),
    p("FC-AVO-3", "avocado", "Avocados, 3", 3, Unit::Pieces, 299),
    p("FC-LIM-3", "lime", "Limes, 3", 3, Unit::Pieces, 129),
    p("FC-LEM-3", "lemon", "Lemons, 3", 3, Unit::Pieces, 139),
    p("FC-BAS-20", "basil", "Basil, 20 g", 20, Unit::Grams, 149),
    p("FC-DIL-20", "dill", "Dill, 20 g", 20, Unit::Grams, 149),
    p("FC-ROM-1", "romaine lettuce", "Romaine lettuce", 1, Unit::Pieces, 119),
    p("FC-BLU-125", "blueberry", "Blueberries, 125 g", 125, Unit::Grams, 279),
];

/// A staple the shop keeps in stock: reorder when below `reorder_below`.
#[derive(Debug)]
pub struct Staple {
    pub item: &'static str,
    pub reorder_below: u32,
    pub unit: Unit,
}

pub const STAPLES: &[Staple] = &[
    Staple { item: "egg", reorder_below: 4, unit: Unit::Pieces },
    Staple { item: "whole milk", reorder_below: 500, unit: Unit::Millilitres },
    Staple { item: "butter", reorder_below: 100, unit: Unit::Grams },
    Staple { item: "bread", reorder_below: 3, unit: Unit::Pieces },
    Staple { item: "greek yogurt", reorder_below: 150, unit: Unit::Grams },
];

pub fn product(item: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|product| product.item == item)
}

pub fn staple(item: &str) -> Option<&'static Staple> {
    STAPLES.iter().find(|staple| staple.item == item)
}
