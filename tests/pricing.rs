//! Prices per region against the AWS emulator's Price List Query API: a Seoul policy's waste
//! is priced at Seoul's price, the status says where the price came from, and a Price List
//! the operator may not read falls back to the built-in table and says why.

mod common;

use common::{TestAccount, control, policy_for};
use frugal_operator::api::validate::validate;
use frugal_operator::engine::{self, CloudConnector, report};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

const SEOUL: &str = "ap-northeast-2";

const AUDIT: &str = r#"
apiVersion: frugal.dev/v1alpha1
kind: CostPolicy
metadata: {name: seoul}
spec:
  aws: {region: eu-west-1}
  gatewayEndpoints: {services: [s3]}
"#;

/// An account in `region` with one VPC whose NAT gateway moved 100 GB a day for 30 days.
async fn nat_account(region: &str) -> TestAccount {
    let account = TestAccount::in_region(region).await;
    let vpc = account.seed_vpc("10.1.0.0/16", &[("env", "prod")], 1).await;
    account.seed_nat_metrics(&vpc.nat_gateway_id, 100.0).await;
    account
}

/// Plans (Audit) the policy in `region` with `connector`; returns the status's cost section.
async fn cost_in(account: &TestAccount, connector: &dyn CloudConnector, region: &str) -> frugal_operator::api::CostStatus {
    let mut policy = policy_for(account, AUDIT);
    policy.spec.aws.region = region.to_string();
    let validated = validate("seoul", &policy.spec).expect("valid policy");
    let cloud = connector.connect(&validated.aws).await.expect("connect");
    let planned = engine::observe_and_plan(cloud.as_ref(), validated, k8s_openapi::jiff::Timestamp::now().as_second()).await;
    let applied = engine::act(cloud.as_ref(), planned).await;
    assert!(applied.succeeded(), "{:?}", applied.first_error());
    let status = report::status(&applied, None, Some(1), &Time(k8s_openapi::jiff::Timestamp::now()));
    status.cost.expect("a cost section")
}

fn today() -> String {
    k8s_openapi::jiff::Timestamp::now().strftime("%Y-%m-%d").to_string()
}

#[tokio::test]
async fn a_seoul_policy_prices_its_nat_waste_at_seouls_price_from_the_price_list() {
    let account = nat_account(SEOUL).await;
    let cost = cost_in(&account, account.connector().as_ref(), SEOUL).await;

    // 3,000 GB in 30 days × Seoul's $0.059/GB (us-east-1 would say $135.00).
    assert_eq!(cost.monthly_waste_usd, "177.00", "{cost:#?}");
    assert_eq!(cost.prices, format!("AWS Price List, {SEOUL}, fetched {}", today()));
    assert!(
        cost.areas[0].basis.contains(&format!("$0.059/GB NAT gateway data processing (AWS Price List, {SEOUL}, fetched {})", today())),
        "{}",
        cost.areas[0].basis
    );
    let lookups: Vec<_> = account.requests().await.into_iter().filter(|r| r.service == "pricing").collect();
    assert_eq!(lookups.len(), 1, "one GetProducts for the NAT gateway family: {lookups:?}");
    assert_eq!((lookups[0].operation.as_str(), lookups[0].region.as_deref()), ("GetProducts", Some("us-east-1")));
}

#[tokio::test]
async fn policies_of_one_region_share_one_price_lookup_a_day() {
    let account = nat_account(SEOUL).await;
    let connector = account.connector();
    for _ in 0..3 {
        assert_eq!(cost_in(&account, connector.as_ref(), SEOUL).await.monthly_waste_usd, "177.00");
    }
    let lookups = account.requests().await.into_iter().filter(|r| r.service == "pricing").count();
    assert_eq!(lookups, 1, "the connector keeps the day's prices");
}

#[tokio::test]
async fn a_price_list_the_operator_may_not_read_falls_back_to_the_built_in_price_and_says_why() {
    let account = nat_account(SEOUL).await;
    control("/_frugal/pricing/deny", serde_json::json!({"account": account.id, "error": "AccessDeniedException"})).await;
    let connector = account.connector();

    let cost = cost_in(&account, connector.as_ref(), SEOUL).await;
    assert_eq!(cost.monthly_waste_usd, "177.00", "the built-in table has Seoul's NAT price");
    assert!(
        cost.prices.starts_with(&format!(
            "built-in list price for {SEOUL} as of {} (AWS Price List not used: GetProducts failed (access_denied)",
            frugal_operator::pricing::built_in::AS_OF
        )),
        "{}",
        cost.prices
    );

    // A refusal stands for an hour: the next run does not ask again.
    cost_in(&account, connector.as_ref(), SEOUL).await;
    let lookups = account.requests().await.into_iter().filter(|r| r.service == "pricing").count();
    assert_eq!(lookups, 1);
    control("/_frugal/pricing/deny", serde_json::json!({"account": account.id, "error": null})).await;
}

#[tokio::test]
async fn a_region_outside_the_built_in_table_uses_us_east_1s_price_and_says_so() {
    // The emulator's price list has no ca-central-1 products, and neither has the built-in table.
    let account = nat_account("ca-central-1").await;
    let cost = cost_in(&account, account.connector().as_ref(), "ca-central-1").await;
    assert_eq!(cost.monthly_waste_usd, "135.00", "3,000 GB × us-east-1's $0.045");
    assert!(cost.prices.contains("built-in us-east-1 list price as of"), "{}", cost.prices);
    assert!(cost.prices.contains("ca-central-1 has no built-in figure"), "{}", cost.prices);
    assert!(cost.prices.contains("it lists no NatGateway-Bytes in ca-central-1"), "{}", cost.prices);
}

/// The status with `pricing.costExplorer`: what Cost Explorer reported as paid, per area.
async fn measured_in(account: &TestAccount, region: &str) -> frugal_operator::api::CostStatus {
    let mut policy = policy_for(account, AUDIT);
    policy.spec.aws.region = region.to_string();
    policy.spec.pricing = Some(frugal_operator::api::PricingSpec { discount_percent: 0, cost_explorer: true });
    let validated = validate("seoul", &policy.spec).expect("valid policy");
    let cloud = account.connector().connect(&validated.aws).await.expect("connect");
    let planned = engine::observe_and_plan(cloud.as_ref(), validated, k8s_openapi::jiff::Timestamp::now().as_second()).await;
    let applied = engine::act(cloud.as_ref(), planned).await;
    assert!(applied.succeeded(), "a Cost Explorer failure never fails the run: {:?}", applied.first_error());
    report::status(&applied, None, Some(1), &Time(k8s_openapi::jiff::Timestamp::now())).cost.expect("a cost section")
}

#[tokio::test]
async fn cost_explorer_reports_what_the_nat_gateway_data_processing_cost_last_month_and_this_month() {
    let account = nat_account(SEOUL).await;
    let date = k8s_openapi::jiff::Zoned::now().with_time_zone(k8s_openapi::jiff::tz::TimeZone::UTC).date();
    let first = date.first_of_month();
    let last_month = first.yesterday().expect("a day").first_of_month();
    let record = |date: String, usage_type: &str, region: &str, usd: &str| serde_json::json!({"date": date, "usageType": usage_type, "region": region, "service": "EC2 - Other", "amountUsd": usd});
    control(
        "/_frugal/ce/usage",
        serde_json::json!({"account": account.id, "records": [
            record(last_month.to_string(), "APN2-NatGateway-Bytes", SEOUL, "100.25"),
            record(last_month.tomorrow().expect("a day").to_string(), "APN2-NatGateway-Bytes", SEOUL, "77.00"),
            // Not the area's usage type, not the region, not the months asked about.
            record(last_month.to_string(), "APN2-NatGateway-Hours", SEOUL, "43.92"),
            record(last_month.to_string(), "EU-NatGateway-Bytes", "eu-west-1", "999.00"),
            record(first.to_string(), "APN2-NatGateway-Bytes", SEOUL, "12.40"),
        ]}),
    )
    .await;

    let cost = measured_in(&account, SEOUL).await;
    let measured = cost.areas[0].measured.as_ref().expect("gatewayEndpoints' measured spend");
    assert_eq!(measured.usage_types, ["NatGateway-Bytes"]);
    assert_eq!((measured.last_month.as_str(), measured.last_month_usd.as_str()), (&last_month.to_string()[..7], "177.25"));
    assert_eq!((measured.month_to_date.as_str(), measured.month_to_date_usd.as_str()), (&first.to_string()[..7], "12.40"));
    assert!(!measured.last_month_estimated, "last month's bill is final");
    assert_eq!(cost.measured, format!("AWS Cost Explorer, unblended cost in {SEOUL}, read {}", today()));
    let reads: Vec<_> = account.requests().await.into_iter().filter(|r| r.service == "ce").collect();
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0].operation, "GetCostAndUsage");
}

#[tokio::test]
async fn a_cost_explorer_refusal_is_reported_and_the_estimates_stand() {
    let account = nat_account(SEOUL).await;
    control("/_frugal/ce/deny", serde_json::json!({"account": account.id, "error": "AccessDeniedException"})).await;
    let cost = measured_in(&account, SEOUL).await;
    assert_eq!(cost.monthly_waste_usd, "177.00");
    assert!(cost.areas[0].measured.is_none());
    assert!(cost.measured.starts_with("AWS Cost Explorer could not be read: GetCostAndUsage failed (access_denied)"), "{}", cost.measured);
    control("/_frugal/ce/deny", serde_json::json!({"account": account.id, "error": null})).await;
}
