//! Prices from AWS's Price List Query API (`pricing:GetProducts`, served from us-east-1),
//! one lookup per service, product family, region and UTC day, shared by every policy of
//! the process ([`DailyBook`]). A failed lookup falls back to the built-in table (the prices
//! say so).

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_pricing::types::{Filter, FilterType};

use crate::engine::{CloudError, ErrorKind, PriceLookup};
use crate::pricing::price_list::{self, ListedPrice};
use crate::pricing::{PriceItem, Prices};

use super::AwsCloud;
use super::daily::{DailyBook, today};
use super::error::classify;

/// The Price List Query API's largest page.
const PAGE: i32 = 100;

/// One GetProducts query: a service's product family in a region.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Query {
    service: &'static str,
    family: &'static str,
    region: String,
}

/// The process's price lookups, one per query and day.
pub type PriceBook = DailyBook<Query, Arc<Vec<ListedPrice>>>;

#[async_trait::async_trait]
impl PriceLookup for AwsCloud {
    async fn prices(&self, items: &[PriceItem]) -> Prices {
        let today = today();
        let mut queries: BTreeMap<(&'static str, &'static str), Vec<PriceItem>> = BTreeMap::new();
        for item in items {
            queries.entry((item.service_code(), item.product_family())).or_default().push(*item);
        }
        let mut found = BTreeMap::new();
        let mut fetched = None;
        let mut problems = Vec::new();
        for ((service, family), wanted) in queries {
            let query = Query { service, family, region: self.region.clone() };
            match self.price_book.read(&self.account, &query, &today, async { Ok(Arc::new(self.get_products(&query).await?)) }).await {
                Ok((day, listed)) => {
                    let prices = price_list::find(&listed, &self.region, &wanted);
                    let missing: Vec<&str> = wanted.iter().filter(|i| !prices.contains_key(i)).map(|i| i.usage_type()).collect();
                    if !missing.is_empty() {
                        problems.push(format!("it lists no {} in {}", missing.join(", "), self.region));
                    }
                    found.extend(prices);
                    fetched = Some(day);
                }
                Err(error) => {
                    tracing::warn!(account = %self.account, region = %self.region, %error, "AWS Price List unavailable: built-in prices");
                    if !problems.contains(&error.to_string()) {
                        problems.push(error.to_string());
                    }
                }
            }
        }
        let why = (!problems.is_empty()).then(|| problems.join("; "));
        Prices::from_found(&self.region, &found, fetched.as_deref(), why)
    }
}

impl AwsCloud {
    /// Every product of the query, each page paced as a describe of the account.
    async fn get_products(&self, query: &Query) -> Result<Vec<ListedPrice>, CloudError> {
        let filter = |field: &str, value: &str| {
            Filter::builder()
                .r#type(FilterType::TermMatch)
                .field(field)
                .value(value)
                .build()
                .map_err(|e| CloudError::new("GetProducts", ErrorKind::InvalidRequest, e.to_string()))
        };
        let (region, family) = (filter("regionCode", &query.region)?, filter("productFamily", query.family)?);
        self.token_pages(|token| {
            let request = self
                .clients
                .pricing()
                .get_products()
                .service_code(query.service)
                .filters(region.clone())
                .filters(family.clone())
                .format_version("aws_v1")
                .max_results(PAGE)
                .set_next_token(token);
            async move {
                let page = request.send().await.map_err(|e| classify("GetProducts", e))?;
                let mut listed = Vec::new();
                for document in page.price_list() {
                    match price_list::parse(document) {
                        Ok(prices) => listed.extend(prices),
                        // One odd product does not cost the others their prices.
                        Err(error) => tracing::debug!(%error, "skipped a price-list document"),
                    }
                }
                Ok((listed, page.next_token().map(str::to_string)))
            }
        })
        .await
    }
}
