use std::collections::BTreeMap;

use super::price_list::{self, ListedPrice};
use super::*;

/// A product as GetProducts returns it (the shape of the AWS CLI's `get-products` example):
/// `dimensions` are (unit, beginRange, USD).
fn document(usage_type: &str, region: &str, family: &str, dimensions: &[(&str, &str, &str)]) -> String {
    let sku = "3MKHN58N7RDDVGKJ";
    let dims: serde_json::Map<String, serde_json::Value> = dimensions
        .iter()
        .enumerate()
        .map(|(i, (unit, begin, usd))| {
            let rate = format!("{sku}.JRTCKXETXF.6YS6EN2CT{i}");
            (
                rate.clone(),
                serde_json::json!({
                    "unit": unit, "endRange": "Inf", "description": "a price", "appliesTo": [],
                    "rateCode": rate, "beginRange": begin, "pricePerUnit": {"USD": usd}
                }),
            )
        })
        .collect();
    serde_json::json!({
        "product": {
            "productFamily": family,
            "attributes": {"servicecode": "AmazonEC2", "usagetype": usage_type, "regionCode": region,
                           "location": "Asia Pacific (Seoul)", "locationType": "AWS Region", "operation": "NatGateway"},
            "sku": sku
        },
        "serviceCode": "AmazonEC2",
        "terms": {
            "OnDemand": {format!("{sku}.JRTCKXETXF"): {
                "priceDimensions": dims, "sku": sku, "effectiveDate": "2025-11-01T00:00:00Z",
                "offerTermCode": "JRTCKXETXF", "termAttributes": {}
            }},
            "Reserved": {format!("{sku}.4NA7Y494T4"): {
                "priceDimensions": {format!("{sku}.4NA7Y494T4.6QCMYABX3D"): {
                    "unit": "Quantity", "beginRange": "0", "endRange": "Inf", "pricePerUnit": {"USD": "999"}
                }}
            }}
        },
        "version": "20251101000000",
        "publicationDate": "2025-11-01T00:00:00Z"
    })
    .to_string()
}

#[test]
fn a_price_list_document_gives_its_on_demand_first_tier() {
    let doc = document("APN2-NatGateway-Bytes", "ap-northeast-2", "NAT Gateway", &[("GB", "0", "0.0590000000")]);
    let prices = price_list::parse(&doc).expect("parses");
    assert_eq!(
        prices,
        vec![ListedPrice {
            usage_type: "APN2-NatGateway-Bytes".into(),
            region_code: "ap-northeast-2".into(),
            unit: "GB".into(),
            usd: 0.059
        }],
        "the Reserved term is not an on-demand price"
    );
}

#[test]
fn only_the_first_tier_of_a_tiered_dimension_counts() {
    let doc = document(
        "APN2-TimedStorage-ByteHrs",
        "ap-northeast-2",
        "Storage Snapshot",
        &[("GB-Mo", "0", "0.0314"), ("GB-Mo", "10240", "0.02"), ("GB-Mo", "51200", "0.01")],
    );
    let prices = price_list::parse(&doc).expect("parses");
    assert_eq!(prices.iter().map(|p| p.usd).collect::<Vec<_>>(), vec![0.0314]);
}

#[test]
fn several_dimensions_each_give_a_price_with_its_unit() {
    let doc = document("EBS:SnapshotUsage", "us-east-1", "Storage Snapshot", &[("GB-Mo", "0", "0.05"), ("GB", "0", "0.03")]);
    let mut units: Vec<(String, f64)> = price_list::parse(&doc).expect("parses").into_iter().map(|p| (p.unit, p.usd)).collect();
    units.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(units, vec![("GB".to_string(), 0.03), ("GB-Mo".to_string(), 0.05)]);
}

#[test]
fn a_document_that_is_not_a_product_is_an_error_and_a_bad_price_is_skipped() {
    assert!(price_list::parse("{\"terms\": {}}").is_err());
    assert!(price_list::parse("not json").is_err());
    let doc = document("NatGateway-Bytes", "us-east-1", "NAT Gateway", &[("GB", "0", "n/a"), ("GB", "0", "-1")]);
    assert_eq!(price_list::parse(&doc).expect("parses"), vec![]);
}

#[test]
fn usage_types_match_with_or_without_a_region_prefix_and_nothing_else() {
    assert!(price_list::is_usage_type_of("NatGateway-Bytes", PriceItem::NatGatewayGb));
    assert!(price_list::is_usage_type_of("APN2-NatGateway-Bytes", PriceItem::NatGatewayGb));
    assert!(price_list::is_usage_type_of("EU-NatGateway-Bytes", PriceItem::NatGatewayGb));
    assert!(price_list::is_usage_type_of("USE1-CW:AlarmMonitorUsage", PriceItem::AlarmMonth));
    assert!(!price_list::is_usage_type_of("APN2-NatGateway-Hours", PriceItem::NatGatewayGb));
    assert!(!price_list::is_usage_type_of("APN2-USE1-NatGateway-Bytes", PriceItem::NatGatewayGb), "a cross-region type");
    assert!(!price_list::is_usage_type_of("APN2-CW:HighResAlarmMonitorUsage", PriceItem::AlarmMonth));
    assert!(!price_list::is_usage_type_of("Provisioned-NatGateway-Bytes", PriceItem::NatGatewayGb));
}

#[test]
fn find_takes_the_items_usage_type_unit_and_region_only() {
    let listed = |usage: &str, region: &str, unit: &str, usd: f64| ListedPrice {
        usage_type: usage.into(),
        region_code: region.into(),
        unit: unit.into(),
        usd,
    };
    let all = vec![
        listed("APN2-NatGateway-Bytes", "ap-northeast-2", "GB", 0.059),
        listed("APN2-NatGateway-Hours", "ap-northeast-2", "Hrs", 0.059),
        listed("NatGateway-Bytes", "us-east-1", "GB", 0.045),
        listed("APN2-EBS:SnapshotUsage", "ap-northeast-2", "Quantity", 7.0),
    ];
    let found = price_list::find(&all, "ap-northeast-2", &[PriceItem::NatGatewayGb, PriceItem::NatGatewayHour, PriceItem::SnapshotGbMonth]);
    assert_eq!(found, BTreeMap::from([(PriceItem::NatGatewayGb, 0.059), (PriceItem::NatGatewayHour, 0.059)]));
}

#[test]
fn the_price_list_wins_and_what_it_lacks_comes_from_the_built_in_table() {
    let found = BTreeMap::from([(PriceItem::NatGatewayGb, 0.0612)]);
    let prices = Prices::from_found("ap-northeast-2", &found, Some("2026-12-03"), None);
    assert_eq!(prices.usd(PriceItem::NatGatewayGb), 0.0612);
    assert_eq!(prices.source(PriceItem::NatGatewayGb), Some(&PriceSource::PriceList { fetched: "2026-12-03".into() }));
    assert_eq!(prices.usd(PriceItem::SnapshotGbMonth), 0.05);
    assert_eq!(prices.source(PriceItem::SnapshotGbMonth), Some(&PriceSource::BuiltIn { as_of: built_in::AS_OF }));
    assert_eq!(prices.source_label(&PriceItem::ALL), "mixed");
    assert_eq!(
        prices.basis_of(&[PriceItem::NatGatewayGb]),
        "$0.0612/GB NAT gateway data processing (AWS Price List, ap-northeast-2, fetched 2026-12-03)"
    );
}

#[test]
fn seoul_without_the_price_list_is_priced_at_seouls_built_in_figure_and_says_so() {
    let prices = Prices::built_in("ap-northeast-2", Some("GetProducts failed (access_denied): not authorized".into()));
    assert_eq!(prices.usd(PriceItem::NatGatewayGb), 0.059);
    assert_eq!(prices.source_label(&PriceItem::ALL), "mixed", "Logs and alarms have no Seoul figure: us-east-1's");
    assert_eq!(
        prices.basis_of(&[PriceItem::NatGatewayGb]),
        format!("$0.059/GB NAT gateway data processing (built-in list price for ap-northeast-2 as of {})", built_in::AS_OF)
    );
    assert_eq!(
        prices.basis_of(&[PriceItem::LogsGbMonth, PriceItem::AlarmMonth]),
        format!(
            "$0.03/GB-month CloudWatch Logs storage, $0.10/alarm-month (built-in us-east-1 list price as of {}: ap-northeast-2 has no built-in figure)",
            built_in::AS_OF
        )
    );
    assert!(
        prices.basis(&PriceItem::ALL).ends_with("(AWS Price List not used: GetProducts failed (access_denied): not authorized)"),
        "{}",
        prices.basis(&PriceItem::ALL)
    );
}

#[test]
fn a_region_missing_from_the_table_uses_us_east_1_and_says_so() {
    let prices = Prices::built_in("me-central-1", None);
    for item in PriceItem::ALL {
        assert_eq!(prices.usd(item), Prices::default().usd(item));
        assert_eq!(prices.source(item), Some(&PriceSource::UsEast1 { as_of: built_in::AS_OF }));
    }
    assert_eq!(prices.source_label(&PriceItem::ALL), "built-in-us-east-1");
    assert_eq!(
        prices.basis(&PriceItem::ALL),
        format!("built-in us-east-1 list price as of {}: me-central-1 has no built-in figure", built_in::AS_OF)
    );
}

#[test]
fn every_item_has_a_us_east_1_figure() {
    let prices = Prices::default();
    for item in PriceItem::ALL {
        assert!(prices.usd(item) > 0.0, "{item:?}");
        assert_eq!(prices.source(item), Some(&PriceSource::BuiltIn { as_of: built_in::AS_OF }));
    }
    assert_eq!(prices.source_label(&PriceItem::ALL), "built-in");
}

#[test]
fn a_discount_lowers_every_estimate_and_is_named_in_the_basis() {
    let prices = Prices::default().with_discount(20);
    assert!((prices.usd(PriceItem::NatGatewayGb) - 0.036).abs() < 1e-12);
    assert_eq!(prices.list_price(PriceItem::NatGatewayGb), 0.045);
    assert!((prices.discounted(10.0) - 8.0).abs() < 1e-12);
    assert!(prices.basis_of(&[PriceItem::SnapshotGbMonth]).starts_with("$0.04/GB-month EBS snapshot storage (built-in"));
    assert!(prices.basis_of(&[PriceItem::SnapshotGbMonth]).ends_with("; less a 20% private discount"));
    assert!(prices.basis(&PriceItem::ALL).ends_with("; less a 20% private discount"));
    assert_eq!(Prices::default().with_discount(100).usd(PriceItem::AlarmMonth), 0.0);
    assert_eq!(
        Prices::default().with_discount(0).basis_of(&[PriceItem::AlarmMonth]),
        format!("$0.10/alarm-month (built-in list price for us-east-1 as of {})", built_in::AS_OF)
    );
}

#[test]
fn prices_read_as_aws_writes_them() {
    assert_eq!(unit_price(0.059), "0.059");
    assert_eq!(unit_price(0.1), "0.10");
    assert_eq!(unit_price(0.0125), "0.0125");
    assert_eq!(unit_price(0.0), "0.00");
    assert_eq!(unit_price(12.5), "12.50");
}
