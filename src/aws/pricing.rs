//! Prices from AWS's Price List Query API (`pricing:GetProducts`, served from us-east-1),
//! one lookup per service, product family, region and UTC day, shared by every policy of
//! the process. A failed lookup falls back to the built-in table (the prices say so) and is
//! not retried for that account before [`RETRY_FAILED_AFTER`], so a missing permission costs
//! one call an hour, not one a run.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::{Duration, Instant};

use aws_sdk_pricing::types::{Filter, FilterType};
use tokio::sync::Mutex;

use crate::engine::{CloudError, ErrorKind, PriceLookup};
use crate::pricing::price_list::{self, ListedPrice};
use crate::pricing::{PriceItem, Prices};

use super::AwsCloud;
use super::error::classify;

/// The Price List Query API's largest page.
const PAGE: i32 = 100;
/// How long a failed lookup stands for the account that made it.
const RETRY_FAILED_AFTER: Duration = Duration::from_secs(3600);

/// One GetProducts query: a service's product family in a region.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Query {
    service: &'static str,
    family: &'static str,
    region: String,
}

/// What is known of one query.
#[derive(Default)]
struct Known {
    /// The products' prices and the UTC day they were read.
    listed: Option<(String, Arc<Vec<ListedPrice>>)>,
    /// Failed lookups by account: the price list is global, permissions are not.
    failed: HashMap<String, (Instant, CloudError)>,
}

/// The process's price lookups; one query runs at a time, so policies of one region that
/// start together share one lookup.
#[derive(Default)]
pub struct PriceBook {
    queries: SyncMutex<HashMap<Query, Arc<Mutex<Known>>>>,
}

impl PriceBook {
    fn slot(&self, query: &Query) -> Arc<Mutex<Known>> {
        let mut queries = self.queries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        queries.entry(query.clone()).or_default().clone()
    }

    /// The query's prices read today, by `account` with `fetch` when nobody has.
    async fn lookup<F>(&self, account: &str, query: &Query, today: &str, fetch: F) -> Result<(String, Arc<Vec<ListedPrice>>), CloudError>
    where
        F: std::future::Future<Output = Result<Vec<ListedPrice>, CloudError>>,
    {
        let slot = self.slot(query);
        let mut known = slot.lock().await;
        if let Some((day, listed)) = &known.listed
            && day == today
        {
            return Ok((day.clone(), listed.clone()));
        }
        if let Some((at, error)) = known.failed.get(account)
            && at.elapsed() < RETRY_FAILED_AFTER
        {
            return Err(error.clone());
        }
        match fetch.await {
            Ok(listed) => {
                let listed = Arc::new(listed);
                known.listed = Some((today.to_string(), listed.clone()));
                known.failed.remove(account);
                Ok((today.to_string(), listed))
            }
            Err(error) => {
                known.failed.insert(account.to_string(), (Instant::now(), error.clone()));
                Err(error)
            }
        }
    }
}

#[async_trait::async_trait]
impl PriceLookup for AwsCloud {
    async fn prices(&self, items: &[PriceItem]) -> Prices {
        let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
        let mut queries: BTreeMap<(&'static str, &'static str), Vec<PriceItem>> = BTreeMap::new();
        for item in items {
            queries.entry((item.service_code(), item.product_family())).or_default().push(*item);
        }
        let mut found = BTreeMap::new();
        let mut fetched = None;
        let mut problems = Vec::new();
        for ((service, family), wanted) in queries {
            let query = Query { service, family, region: self.region.clone() };
            match self.price_book.lookup(&self.account, &query, &today, self.get_products(&query)).await {
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
                .pricing
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
