//! Prices of what the areas' estimates count, for the policy's region, each with where it
//! came from: AWS's Price List Query API when it answered (see `aws/pricing.rs`), else the
//! built-in table, else us-east-1's figure, and the basis text says which. Pure: the AWS
//! adapter fetches, this module parses and decides.

pub mod built_in;
pub mod price_list;
pub mod spend;

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One price an estimate uses. Each is one usage type of AWS's price list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PriceItem {
    /// NAT gateway data processing, per GB.
    NatGatewayGb,
    /// A NAT gateway, per hour.
    NatGatewayHour,
    /// EBS snapshot storage, standard tier, per GB-month (AWS Backup's EBS recovery points
    /// are EBS snapshots and are billed at this price).
    SnapshotGbMonth,
    /// EBS snapshot storage, archive tier, per GB-month.
    SnapshotArchiveGbMonth,
    /// CloudWatch Logs storage, per GB-month.
    LogsGbMonth,
    /// A standard-resolution CloudWatch alarm, per month.
    AlarmMonth,
}

impl PriceItem {
    pub const ALL: [PriceItem; 6] = [
        PriceItem::NatGatewayGb,
        PriceItem::NatGatewayHour,
        PriceItem::SnapshotGbMonth,
        PriceItem::SnapshotArchiveGbMonth,
        PriceItem::LogsGbMonth,
        PriceItem::AlarmMonth,
    ];

    /// The price list's service code.
    pub fn service_code(self) -> &'static str {
        match self {
            PriceItem::NatGatewayGb | PriceItem::NatGatewayHour | PriceItem::SnapshotGbMonth | PriceItem::SnapshotArchiveGbMonth => {
                "AmazonEC2"
            }
            PriceItem::LogsGbMonth | PriceItem::AlarmMonth => "AmazonCloudWatch",
        }
    }

    /// The product family: with the region, the filter that keeps a lookup to a few products.
    pub fn product_family(self) -> &'static str {
        match self {
            PriceItem::NatGatewayGb | PriceItem::NatGatewayHour => "NAT Gateway",
            PriceItem::SnapshotGbMonth | PriceItem::SnapshotArchiveGbMonth | PriceItem::LogsGbMonth => "Storage Snapshot",
            PriceItem::AlarmMonth => "Alarm",
        }
    }

    /// The usage type without its region prefix (`APN2-NatGateway-Bytes` in Seoul; us-east-1's
    /// EC2 usage types have no prefix).
    pub fn usage_type(self) -> &'static str {
        match self {
            PriceItem::NatGatewayGb => "NatGateway-Bytes",
            PriceItem::NatGatewayHour => "NatGateway-Hours",
            PriceItem::SnapshotGbMonth => "EBS:SnapshotUsage",
            PriceItem::SnapshotArchiveGbMonth => "EBS:SnapshotArchiveStorage",
            PriceItem::LogsGbMonth => "TimedStorage-ByteHrs",
            PriceItem::AlarmMonth => "CW:AlarmMonitorUsage",
        }
    }

    /// The unit the price list states the price in; any other unit is not this price.
    pub fn unit(self) -> &'static str {
        match self {
            PriceItem::NatGatewayGb => "GB",
            PriceItem::NatGatewayHour => "Hrs",
            PriceItem::SnapshotGbMonth | PriceItem::SnapshotArchiveGbMonth | PriceItem::LogsGbMonth => "GB-Mo",
            PriceItem::AlarmMonth => "Alarms",
        }
    }

    /// How a person reads the price: `$0.059/GB NAT gateway data processing`.
    fn per(self) -> &'static str {
        match self {
            PriceItem::NatGatewayGb => "/GB NAT gateway data processing",
            PriceItem::NatGatewayHour => "/hour per NAT gateway",
            PriceItem::SnapshotGbMonth => "/GB-month EBS snapshot storage",
            PriceItem::SnapshotArchiveGbMonth => "/GB-month EBS snapshot archive storage",
            PriceItem::LogsGbMonth => "/GB-month CloudWatch Logs storage",
            PriceItem::AlarmMonth => "/alarm-month",
        }
    }
}

/// Where a price came from.
#[derive(Clone, Debug, PartialEq)]
pub enum PriceSource {
    /// AWS's Price List Query API, for the region, on that UTC day.
    PriceList { fetched: String },
    /// The built-in table's figure for the region.
    BuiltIn { as_of: &'static str },
    /// Not in the built-in table for the region: us-east-1's figure.
    UsEast1 { as_of: &'static str },
}

/// One price: list price in USD and its source.
#[derive(Clone, Debug, PartialEq)]
pub struct Price {
    pub usd: f64,
    pub source: PriceSource,
}

/// The prices a run uses, for one region, with the private discount that applies to them.
#[derive(Clone, Debug, PartialEq)]
pub struct Prices {
    pub region: String,
    items: BTreeMap<PriceItem, Price>,
    /// Why the Price List was not used for some or all items, when it was not.
    pub price_list_unavailable: Option<String>,
    /// `spec.pricing.discountPercent`: every estimate is the list price less this.
    pub discount_percent: u8,
}

impl Default for Prices {
    /// us-east-1's built-in list prices: what plans built without a run's prices (tests) use.
    fn default() -> Self {
        Self::built_in("us-east-1", None)
    }
}

impl Prices {
    /// The built-in table for `region`; `why` says why the Price List was not used.
    pub fn built_in(region: &str, why: Option<String>) -> Self {
        Self::from_found(region, &BTreeMap::new(), None, why)
    }

    /// Prices found in the Price List on day `fetched` (YYYY-MM-DD); the items not found
    /// come from the built-in table, and `why` says why when some were not looked up.
    pub fn from_found(region: &str, found: &BTreeMap<PriceItem, f64>, fetched: Option<&str>, why: Option<String>) -> Self {
        let items = PriceItem::ALL
            .into_iter()
            .map(|item| {
                let price = match (found.get(&item), fetched) {
                    (Some(usd), Some(day)) => Price { usd: *usd, source: PriceSource::PriceList { fetched: day.to_string() } },
                    _ => built_in::price(region, item),
                };
                (item, price)
            })
            .collect();
        Self { region: region.to_string(), items, price_list_unavailable: why, discount_percent: 0 }
    }

    /// The same prices less a private discount of `percent` (0–100).
    pub fn with_discount(mut self, percent: u8) -> Self {
        self.discount_percent = percent.min(100);
        self
    }

    /// What the account pays for one unit of `item`: the list price less the discount.
    pub fn usd(&self, item: PriceItem) -> f64 {
        self.discounted(self.list_price(item))
    }

    /// The list price of `item`, before the discount.
    pub fn list_price(&self, item: PriceItem) -> f64 {
        self.items.get(&item).map_or(0.0, |p| p.usd)
    }

    /// Applies the discount to an amount AWS itself estimated at list prices (Compute
    /// Optimizer's savings).
    pub fn discounted(&self, usd: f64) -> f64 {
        usd * (1.0 - f64::from(self.discount_percent) / 100.0)
    }

    /// Where a price came from.
    pub fn source(&self, item: PriceItem) -> Option<&PriceSource> {
        self.items.get(&item).map(|p| &p.source)
    }

    /// The basis of the prices of `items`, for an area's estimate:
    /// `$0.059/GB NAT gateway data processing (AWS Price List, ap-northeast-2, fetched 2026-12-03)`.
    pub fn basis_of(&self, items: &[PriceItem]) -> String {
        let mut text = String::new();
        let mut last_source: Option<String> = None;
        for (i, item) in items.iter().enumerate() {
            let source = self.source_text(*item);
            if let Some(previous) = last_source.take().filter(|s| *s != source) {
                let _ = write!(text, " ({previous})");
            }
            if i > 0 {
                text.push_str(", ");
            }
            let _ = write!(text, "${}{}", unit_price(self.usd(*item)), item.per());
            last_source = Some(source);
        }
        if let Some(source) = last_source {
            let _ = write!(text, " ({source})");
        }
        text.push_str(&self.discount_note());
        text
    }

    /// The basis of the prices of `items` (those a policy's areas use) as a whole, for the
    /// status's cost section and the CLI: `AWS Price List, ap-northeast-2, fetched 2026-12-03`
    /// or `built-in list price for ap-northeast-2 as of 2025 (AWS Price List not used: ...)`.
    pub fn basis(&self, items: &[PriceItem]) -> String {
        let mut sources: Vec<String> = Vec::new();
        for &item in items {
            let text = self.source_text(item);
            if !sources.contains(&text) {
                sources.push(text);
            }
        }
        let mut text = sources.join("; ");
        if let Some(why) = &self.price_list_unavailable {
            let _ = write!(text, " (AWS Price List not used: {why})");
        }
        text.push_str(&self.discount_note());
        text
    }

    /// A short, stable name of where the prices came from: the `source` label of
    /// `frugal_prices_info` (`aws-price-list`, `built-in`, `built-in-us-east-1`, or
    /// `mixed` when the prices of `items` came from more than one).
    pub fn source_label(&self, items: &[PriceItem]) -> &'static str {
        let mut labels = items.iter().filter_map(|item| self.source(*item)).map(|source| match source {
            PriceSource::PriceList { .. } => "aws-price-list",
            PriceSource::BuiltIn { .. } => "built-in",
            PriceSource::UsEast1 { .. } => "built-in-us-east-1",
        });
        let first = labels.next().unwrap_or("built-in");
        if labels.all(|l| l == first) { first } else { "mixed" }
    }

    fn source_text(&self, item: PriceItem) -> String {
        match self.source(item) {
            Some(PriceSource::PriceList { fetched }) => format!("AWS Price List, {}, fetched {fetched}", self.region),
            Some(PriceSource::BuiltIn { as_of }) => format!("built-in list price for {} as of {as_of}", self.region),
            Some(PriceSource::UsEast1 { as_of }) => {
                format!("built-in us-east-1 list price as of {as_of}: {} has no built-in figure", self.region)
            }
            None => "no price".to_string(),
        }
    }

    fn discount_note(&self) -> String {
        if self.discount_percent == 0 { String::new() } else { format!("; less a {}% private discount", self.discount_percent) }
    }
}

/// `0.059`, `0.10`, `0.0125`: a price as AWS's pages write it, two decimals at least and
/// no trailing zeros beyond them.
pub fn unit_price(usd: f64) -> String {
    let mut text = format!("{usd:.6}");
    while text.ends_with('0') && text.len() - text.find('.').map_or(0, |dot| dot) > 3 {
        text.pop();
    }
    text
}

#[cfg(test)]
mod tests;
