//! List prices used when AWS's Price List cannot be read (no `pricing:GetProducts`
//! permission, no route to its endpoint). On-demand list prices in USD. A region or item
//! missing here falls back to us-east-1's figure, and the basis text says so: a figure is
//! only listed here for a region when its source was read.

use super::{Price, PriceItem, PriceSource};

/// When the figures below were published on AWS's pricing pages. This table was written
/// without network access and could not re-read them: the Price List is the authority.
pub const AS_OF: &str = "2025";

/// us-east-1 (N. Virginia). Source: aws.amazon.com/vpc/pricing (NAT gateway),
/// aws.amazon.com/ebs/pricing (snapshots, archive tier), aws.amazon.com/cloudwatch/pricing
/// (Logs storage, standard alarms), as published in 2025; the project's AWS-FACTS.md has
/// the same figures.
const US_EAST_1: &[(PriceItem, f64)] = &[
    (PriceItem::NatGatewayGb, 0.045),
    (PriceItem::NatGatewayHour, 0.045),
    (PriceItem::SnapshotGbMonth, 0.05),
    (PriceItem::SnapshotArchiveGbMonth, 0.0125),
    (PriceItem::LogsGbMonth, 0.03),
    (PriceItem::AlarmMonth, 0.10),
];

/// The other regions, only the figures the authors are sure of. Source:
/// aws.amazon.com/vpc/pricing and aws.amazon.com/ebs/pricing with the region selected, as
/// published in 2025.
const REGIONS: &[(&str, &[(PriceItem, f64)])] = &[
    ("us-east-2", &[(PriceItem::NatGatewayGb, 0.045), (PriceItem::NatGatewayHour, 0.045), (PriceItem::SnapshotGbMonth, 0.05)]),
    ("us-west-2", &[(PriceItem::NatGatewayGb, 0.045), (PriceItem::NatGatewayHour, 0.045), (PriceItem::SnapshotGbMonth, 0.05)]),
    (
        "eu-west-1",
        &[
            (PriceItem::NatGatewayGb, 0.048),
            (PriceItem::NatGatewayHour, 0.048),
            (PriceItem::SnapshotGbMonth, 0.05),
            // aws.amazon.com/cloudwatch/pricing, Europe (Ireland).
            (PriceItem::LogsGbMonth, 0.03),
            (PriceItem::AlarmMonth, 0.10),
        ],
    ),
    // Seoul: NAT gateway data processing is about a third above us-east-1.
    ("ap-northeast-2", &[(PriceItem::NatGatewayGb, 0.059), (PriceItem::NatGatewayHour, 0.059), (PriceItem::SnapshotGbMonth, 0.05)]),
    ("ap-northeast-1", &[(PriceItem::NatGatewayGb, 0.062), (PriceItem::NatGatewayHour, 0.062)]),
    ("ap-southeast-1", &[(PriceItem::NatGatewayGb, 0.059), (PriceItem::NatGatewayHour, 0.059)]),
];

/// The built-in price of `item` in `region`, or us-east-1's when the table has none.
pub fn price(region: &str, item: PriceItem) -> Price {
    let table = if region == "us-east-1" { Some(US_EAST_1) } else { REGIONS.iter().find(|(r, _)| *r == region).map(|(_, t)| *t) };
    match table.and_then(|t| lookup(t, item)) {
        Some(usd) => Price { usd, source: PriceSource::BuiltIn { as_of: AS_OF } },
        None => Price { usd: lookup(US_EAST_1, item).unwrap_or(0.0), source: PriceSource::UsEast1 { as_of: AS_OF } },
    }
}

fn lookup(table: &[(PriceItem, f64)], item: PriceItem) -> Option<f64> {
    table.iter().find(|(i, _)| *i == item).map(|(_, usd)| *usd)
}
