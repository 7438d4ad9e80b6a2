//! What the account paid, from AWS Cost Explorer (`ce:GetCostAndUsage`, served from
//! us-east-1): the unblended cost in the policy's region grouped by usage type, monthly, for
//! the last full month and this one. One read per account, region and UTC day
//! ([`DailyBook`]): each request costs $0.01.

use aws_sdk_costexplorer::types::{
    DateInterval, Dimension, DimensionValues, Expression, Granularity, GroupDefinition, GroupDefinitionType,
};

use crate::engine::{CloudError, ErrorKind, SpendLookup};
use crate::pricing::PriceItem;
use crate::pricing::spend::{Months, Spend, SpendRow};

use super::AwsCloud;
use super::daily::{DailyBook, today};
use super::error::classify;

const METRIC: &str = "UnblendedCost";

/// The process's Cost Explorer reads: (account, region) → the rows of the day.
pub type SpendBook = DailyBook<(String, String), Vec<SpendRow>>;

#[async_trait::async_trait]
impl SpendLookup for AwsCloud {
    async fn spend(&self, items: &[PriceItem]) -> Result<Spend, CloudError> {
        let today = today();
        let date: jiff::civil::Date =
            today.parse().map_err(|e| CloudError::new("GetCostAndUsage", ErrorKind::InvalidRequest, format!("today: {e}")))?;
        let months = Months::around(date);
        let key = (self.account.clone(), self.region.clone());
        let (read, rows) = self.spend_book.read(&self.account, &key, &today, self.cost_and_usage(&months)).await?;
        Ok(Spend::from_rows(&self.region, &read, &months, &rows, items))
    }
}

impl AwsCloud {
    /// Every page of the two months' cost in the region by usage type.
    async fn cost_and_usage(&self, months: &Months) -> Result<Vec<SpendRow>, CloudError> {
        let invalid =
            |e: aws_sdk_costexplorer::error::BuildError| CloudError::new("GetCostAndUsage", ErrorKind::InvalidRequest, e.to_string());
        let period = DateInterval::builder().start(&months.last_month.0).end(&months.month_to_date.1).build().map_err(invalid)?;
        // The region only: the usage types pick the rows (`Spend::from_rows`), so a service's
        // name in Cost Explorer (NAT gateways bill under "EC2 - Other") cannot drop a row.
        let filter =
            Expression::builder().dimensions(DimensionValues::builder().key(Dimension::Region).values(self.region.clone()).build()).build();
        let group = GroupDefinition::builder().r#type(GroupDefinitionType::Dimension).key("USAGE_TYPE").build();
        self.token_pages(|token| {
            let request = self
                .clients
                .cost_explorer()
                .get_cost_and_usage()
                .time_period(period.clone())
                .granularity(Granularity::Monthly)
                .metrics(METRIC)
                .filter(filter.clone())
                .group_by(group.clone())
                .set_next_page_token(token);
            async move {
                let page = request.send().await.map_err(|e| classify("GetCostAndUsage", e))?;
                let mut rows = Vec::new();
                for result in page.results_by_time() {
                    let start = result.time_period().map(|p| p.start().to_string()).unwrap_or_default();
                    for group in result.groups() {
                        let usd = group.metrics().and_then(|m| m.get(METRIC)).and_then(|m| m.amount()).and_then(|a| a.parse::<f64>().ok());
                        if let (Some(usage_type), Some(usd)) = (group.keys().first(), usd) {
                            rows.push(SpendRow {
                                start: start.clone(),
                                usage_type: usage_type.clone(),
                                usd,
                                estimated: result.estimated(),
                            });
                        }
                    }
                }
                Ok((rows, page.next_page_token().map(str::to_string)))
            }
        })
        .await
    }
}
