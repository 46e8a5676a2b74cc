//! `shop.quote`: a priced basket for a list of wanted amounts.

use crate::catalog::{self, CURRENCY, Unit};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wanted {
    pub item: String,
    pub amount: u32,
    pub unit: Unit,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    pub items: Vec<Wanted>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Line {
    pub sku: String,
    pub name: String,
    pub packs: u32,
    pub unit_price_minor: u64,
    pub line_minor: u64,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Quote {
    pub currency: String,
    pub lines: Vec<Line>,
    pub total_minor: u64,
    /// Items the shop does not sell (or not in that unit).
    pub unavailable: Vec<String>,
}

/// Packs needed to cover each wanted amount (rounded up), priced.
pub fn quote(request: &QuoteRequest) -> Quote {
    let mut lines = Vec::new();
    let mut unavailable = Vec::new();
    for wanted in &request.items {
        match catalog::product(&wanted.item).filter(|product| product.unit == wanted.unit) {
            Some(product) if wanted.amount > 0 => {
                let packs = wanted.amount.div_ceil(product.pack_amount);
                lines.push(Line {
                    sku: product.sku.into(),
                    name: product.name.into(),
                    packs,
                    unit_price_minor: product.price_minor,
                    line_minor: product.price_minor * u64::from(packs),
                });
            }
            Some(_) => {}
            None => unavailable.push(wanted.item.clone()),
        }
    }
    let total_minor = lines.iter().map(|line| line.line_minor).sum();
    Quote { currency: CURRENCY.into(), lines, total_minor, unavailable }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_round_up_and_unknown_items_are_listed() {
        let request = QuoteRequest {
            items: vec![
                Wanted { item: "egg".into(), amount: 12, unit: Unit::Pieces },
                Wanted { item: "parmesan".into(), amount: 50, unit: Unit::Grams },
                Wanted { item: "truffle".into(), amount: 10, unit: Unit::Grams },
                Wanted { item: "whole milk".into(), amount: 3, unit: Unit::Pieces },
            ],
        };
        let quote = quote(&request);
        assert_eq!(quote.lines.len(), 2);
        assert_eq!((quote.lines[0].packs, quote.lines[0].line_minor), (2, 778));
        assert_eq!((quote.lines[1].packs, quote.lines[1].line_minor), (1, 349));
        assert_eq!(quote.total_minor, 1_127);
        assert_eq!(quote.unavailable, ["truffle", "whole milk"]);
    }

    #[test]
    fn every_staple_is_sold_in_its_unit() {
        for staple in catalog::STAPLES {
            let product = catalog::product(staple.item).expect(staple.item);
            assert_eq!(product.unit, staple.unit, "{}", staple.item);
        }
    }
}
