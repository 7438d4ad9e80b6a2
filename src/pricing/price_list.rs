//! AWS's price-list documents (one JSON string per product in a `GetProducts` answer):
//! `product.attributes` name the usage type and region, `terms.OnDemand` holds the price
//! dimensions, each with a unit, a tier range and `pricePerUnit.USD`.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::PriceItem;

/// A document that is not a price-list product.
#[derive(Debug, thiserror::Error)]
#[error("not a price-list product: {0}")]
pub struct PriceListError(#[from] serde_json::Error);

/// One on-demand price of a product: the first tier of one dimension.
#[derive(Clone, Debug, PartialEq)]
pub struct ListedPrice {
    pub usage_type: String,
    pub region_code: String,
    pub unit: String,
    pub usd: f64,
}

#[derive(Deserialize)]
struct Document {
    product: Product,
    #[serde(default)]
    terms: Terms,
}

#[derive(Deserialize)]
struct Product {
    #[serde(default)]
    attributes: HashMap<String, String>,
}

#[derive(Deserialize, Default)]
struct Terms {
    #[serde(rename = "OnDemand", default)]
    on_demand: HashMap<String, Term>,
}

#[derive(Deserialize)]
struct Term {
    #[serde(rename = "priceDimensions", default)]
    price_dimensions: HashMap<String, Dimension>,
}

#[derive(Deserialize)]
struct Dimension {
    unit: String,
    #[serde(rename = "beginRange", default)]
    begin_range: Option<String>,
    #[serde(rename = "pricePerUnit", default)]
    price_per_unit: HashMap<String, String>,
}

/// The on-demand prices of one document. Only the first tier (`beginRange` 0) of each
/// dimension counts: the areas' quantities are priced at the rate of their first unit, and
/// the tiered items (none of those the areas use today) only get cheaper further up.
pub fn parse(document: &str) -> Result<Vec<ListedPrice>, PriceListError> {
    let document: Document = serde_json::from_str(document)?;
    let attribute = |name: &str| document.product.attributes.get(name).cloned().unwrap_or_default();
    let (usage_type, region_code) = (attribute("usagetype"), attribute("regionCode"));
    let mut prices: Vec<ListedPrice> = document
        .terms
        .on_demand
        .values()
        .flat_map(|term| term.price_dimensions.values())
        .filter(|d| d.begin_range.as_deref().is_none_or(|b| b.parse::<f64>().is_ok_and(|b| b == 0.0)))
        .filter_map(|d| {
            let usd = d.price_per_unit.get("USD")?.parse::<f64>().ok().filter(|usd| usd.is_finite() && *usd >= 0.0)?;
            Some(ListedPrice { usage_type: usage_type.clone(), region_code: region_code.clone(), unit: d.unit.clone(), usd })
        })
        .collect();
    prices.sort_by(|a, b| a.unit.cmp(&b.unit).then(a.usd.total_cmp(&b.usd)));
    Ok(prices)
}

/// True when `usage_type` is `item`'s, with or without a region prefix (`APN2-`, `EU-`,
/// `USE1-`: capitals and digits).
pub fn is_usage_type_of(usage_type: &str, item: PriceItem) -> bool {
    let Some(prefix) = usage_type.strip_suffix(item.usage_type()) else { return false };
    prefix.is_empty()
        || prefix
            .strip_suffix('-')
            .is_some_and(|code| !code.is_empty() && code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
}

/// The prices of `items` among `listed`, for `region`: the product of the item's usage type
/// and unit. When AWS lists two (it should not), the higher is taken: an estimate of waste
/// must not be low.
pub fn find(listed: &[ListedPrice], region: &str, items: &[PriceItem]) -> BTreeMap<PriceItem, f64> {
    let mut found = BTreeMap::new();
    for item in items {
        let best = listed
            .iter()
            .filter(|p| p.region_code == region && p.unit == item.unit() && is_usage_type_of(&p.usage_type, *item))
            .map(|p| p.usd)
            .max_by(f64::total_cmp);
        if let Some(usd) = best {
            found.insert(*item, usd);
        }
    }
    found
}
