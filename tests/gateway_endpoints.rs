//! The gateway endpoints area against the AWS emulator: observe, plan, act for real.

mod common;

use common::{TestAccount, policy_for};
use frugal_operator::api::conditions::{self, reason};
use frugal_operator::api::validate::validate;
use frugal_operator::api::{CostPolicy, EndpointOwnership};
use frugal_operator::engine::areas::GatewayEndpoints;
use frugal_operator::engine::{self, AreaCloud, AreaPlan, CloudConnector, report};
use frugal_operator::plan::gateway_endpoints::GatewayEndpointsChange;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

const ENFORCE: &str = r#"
apiVersion: frugal.dev/v1alpha1
kind: CostPolicy
metadata: {name: prod}
spec:
  mode: Enforce
  aws: {region: eu-west-1}
  gatewayEndpoints:
    services: [s3, dynamodb]
    vpcSelector: {tags: {env: prod}}
"#;

async fn run(account: &TestAccount, policy: &CostPolicy) -> engine::AppliedRun {
    let validated = validate(policy.metadata.name.as_deref().unwrap_or_default(), &policy.spec).expect("valid policy");
    let cloud = account.connector().connect(&validated.aws).await.expect("connect");
    let planned = engine::observe_and_plan(cloud.as_ref(), validated, k8s_openapi::jiff::Timestamp::now().as_second()).await;
    engine::act(cloud.as_ref(), planned).await
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

/// prod-app (no endpoints), prod-data (our S3 endpoint on 1 of 3 private tables), prod-legacy
/// (a hand-made DynamoDB endpoint), dev (out of scope).
struct MessyAccount {
    account: TestAccount,
    app: common::SeededVpc,
    data: common::SeededVpc,
    legacy: common::SeededVpc,
    dev: common::SeededVpc,
    data_s3: String,
    legacy_dynamodb: String,
}

async fn messy_account() -> MessyAccount {
    let account = TestAccount::new().await;
    let app = account.seed_vpc("10.1.0.0/16", &[("env", "prod"), ("Name", "prod-app")], 2).await;
    let data = account.seed_vpc("10.2.0.0/16", &[("env", "prod"), ("Name", "prod-data")], 3).await;
    let legacy = account.seed_vpc("10.3.0.0/16", &[("env", "prod"), ("Name", "prod-legacy")], 1).await;
    let dev = account.seed_vpc("10.4.0.0/16", &[("env", "dev")], 1).await;
    let data_s3 = account
        .hand_made_endpoint(
            &data.vpc_id,
            "s3",
            &data.private_route_tables[..1],
            &[("frugal.dev/managed-by", "frugal"), ("frugal.dev/policy", "prod")],
        )
        .await;
    let legacy_dynamodb = account.hand_made_endpoint(&legacy.vpc_id, "dynamodb", &legacy.private_route_tables, &[]).await;
    account.seed_nat_metrics(&app.nat_gateway_id, 100.0).await;
    MessyAccount { account, app, data, legacy, dev, data_s3, legacy_dynamodb }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn messy_account_converges_in_one_apply_and_the_second_makes_no_mutating_call() {
    let m = messy_account().await;
    let policy = policy_for(&m.account, ENFORCE);
    m.account.clear_requests().await;

    let first = run(&m.account, &policy).await;
    assert!(first.succeeded(), "{:?}", first.first_error());
    let status = report::status(&first, None, Some(1), &now());
    let ge = status.gateway_endpoints.as_ref().expect("area status");
    assert_eq!((ge.vpcs_in_scope, ge.endpoints_created, ge.missing_endpoints, ge.missing_route_table_associations), (3, 4, 0, 0));
    assert_eq!(ge.adopted_endpoints, 1, "the hand-made DynamoDB endpoint is adopted");
    assert_eq!(
        conditions::find(&status.conditions, conditions::GATEWAY_ENDPOINTS_IN_SYNC).map(|c| c.reason.as_str()),
        Some(reason::RECONCILED)
    );

    // AWS state: one endpoint per service per VPC, covering exactly the private route tables.
    for vpc in [&m.app, &m.data, &m.legacy] {
        let endpoints = m.account.endpoints(&vpc.vpc_id).await;
        for service in ["s3", "dynamodb"] {
            let of_service: Vec<_> = endpoints.iter().filter(|e| e.service_name().is_some_and(|s| s.ends_with(service))).collect();
            assert_eq!(of_service.len(), 1, "{service} in {}", vpc.vpc_id);
            let id = of_service[0].vpc_endpoint_id().expect("id");
            assert_eq!(m.account.routed_tables(id).await, sorted(vpc.private_route_tables.clone()), "{service} routes in {}", vpc.vpc_id);
        }
    }
    assert!(m.account.endpoints(&m.dev.vpc_id).await.is_empty(), "the dev VPC is out of scope");
    // Existing endpoints were extended, not replaced.
    assert!(m.account.endpoints(&m.data.vpc_id).await.iter().any(|e| e.vpc_endpoint_id() == Some(m.data_s3.as_str())));
    assert!(m.account.endpoints(&m.legacy.vpc_id).await.iter().any(|e| e.vpc_endpoint_id() == Some(m.legacy_dynamodb.as_str())));
    // The public route table was left alone.
    let app_s3 =
        m.account.endpoints(&m.app.vpc_id).await.into_iter().find(|e| e.service_name().is_some_and(|s| s.ends_with("s3"))).expect("s3");
    assert!(!m.account.routed_tables(app_s3.vpc_endpoint_id().expect("id")).await.contains(&m.app.public_route_table));

    m.account.clear_requests().await;
    let second = run(&m.account, &policy).await;
    assert!(second.succeeded());
    let mutating = m.account.mutating_requests().await;
    assert!(mutating.is_empty(), "second apply made mutating calls: {mutating:?}");
    let status = report::status(&second, Some(&status), Some(1), &now());
    assert_eq!(
        conditions::find(&status.conditions, conditions::GATEWAY_ENDPOINTS_IN_SYNC).map(|c| c.reason.as_str()),
        Some(reason::IN_SYNC)
    );
    assert_eq!(status.findings, 0);
}

#[tokio::test]
async fn audit_mode_reports_the_drift_and_makes_no_mutating_call() {
    let m = messy_account().await;
    let mut policy = policy_for(&m.account, ENFORCE);
    policy.spec.mode = frugal_operator::api::Mode::Audit;
    m.account.clear_requests().await;
    let applied = run(&m.account, &policy).await;
    assert!(m.account.mutating_requests().await.is_empty());
    let status = report::status(&applied, None, Some(1), &now());
    // prod-app: 2 creates; prod-data: add 2 tables to S3, create DynamoDB; prod-legacy: create S3.
    assert_eq!(status.findings, 5);
    let ge = status.gateway_endpoints.expect("area status");
    assert_eq!(ge.missing_endpoints, 4);
    assert_eq!(
        conditions::find(&status.conditions, conditions::GATEWAY_ENDPOINTS_IN_SYNC).map(|c| (c.status.as_str(), c.reason.as_str())),
        Some(("False", reason::DRIFT_FOUND))
    );
    let cost = status.cost.expect("cost");
    assert!(cost.monthly_waste_usd.parse::<f64>().expect("number") > 130.0, "prod-app's NAT moves ~3 TB a month: {cost:?}");
}

#[tokio::test]
async fn a_retried_create_with_the_same_token_makes_no_duplicate() {
    let account = TestAccount::new().await;
    let vpc = account.seed_vpc("10.9.0.0/16", &[("env", "prod")], 1).await;
    let policy = policy_for(&account, ENFORCE);
    let validated = validate("prod", &policy.spec).expect("valid");
    let cloud = account.connector().connect(&validated.aws).await.expect("connect");
    let planned = engine::observe_and_plan(cloud.as_ref(), validated.clone(), k8s_openapi::jiff::Timestamp::now().as_second()).await;
    let Some(AreaPlan::Planned(plan)) = &planned.areas.gateway_endpoints else { panic!("planned") };
    let create = plan.actions.iter().find(|c| matches!(c, GatewayEndpointsChange::CreateEndpoint { .. })).expect("a create").clone();

    // The operator dies after AWS created the endpoint and before anything was recorded;
    // the retry sends the same request again.
    let first = AreaCloud::<GatewayEndpoints>::apply(&*cloud, "p", &create).await.expect("create");
    let retry = AreaCloud::<GatewayEndpoints>::apply(&*cloud, "p", &create).await.expect("retry");
    assert_eq!(first, retry);

    // A fresh run after the crash sees the endpoint and does not create another.
    let applied = engine::act(
        cloud.as_ref(),
        engine::observe_and_plan(cloud.as_ref(), validated, k8s_openapi::jiff::Timestamp::now().as_second()).await,
    )
    .await;
    assert!(applied.succeeded());
    let endpoints = account.endpoints(&vpc.vpc_id).await;
    assert_eq!(endpoints.len(), 2, "one S3 and one DynamoDB endpoint: {endpoints:?}");
}

#[tokio::test]
async fn route_table_scope_all_extends_the_existing_endpoints() {
    let account = TestAccount::new().await;
    let vpc = account.seed_vpc("10.5.0.0/16", &[("env", "prod")], 2).await;
    let mut policy = policy_for(&account, ENFORCE);
    assert!(run(&account, &policy).await.succeeded());
    policy.spec.gateway_endpoints.as_mut().expect("section").route_tables = frugal_operator::api::RouteTableScope::All;
    let applied = run(&account, &policy).await;
    assert!(applied.succeeded());
    let status = report::status(&applied, None, None, &now());
    let ge = status.gateway_endpoints.expect("status");
    // The public and the main route table, for each of the two endpoints.
    assert_eq!((ge.endpoints_created, ge.route_tables_associated), (0, 4));
    assert!(ge.vpcs[0].endpoints.iter().all(|e| e.ownership == EndpointOwnership::Managed));
    let tables = account
        .ec2
        .describe_route_tables()
        .filters(aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(&vpc.vpc_id).build())
        .send()
        .await
        .expect("DescribeRouteTables");
    let all: Vec<String> = tables.route_tables().iter().filter_map(|rt| rt.route_table_id().map(str::to_string)).collect();
    assert_eq!(all.len(), 4, "main, public and two private route tables");
    assert!(all.contains(&vpc.public_route_table));
    for endpoint in account.endpoints(&vpc.vpc_id).await {
        assert_eq!(account.routed_tables(endpoint.vpc_endpoint_id().expect("id")).await, sorted(all.clone()));
    }
}

#[tokio::test]
async fn cleanup_deletes_only_what_the_policy_created() {
    let account = TestAccount::new().await;
    let vpc = account.seed_vpc("10.6.0.0/16", &[("env", "prod")], 1).await;
    let hand_made = account.hand_made_endpoint(&vpc.vpc_id, "dynamodb", &vpc.private_route_tables, &[]).await;
    let policy = policy_for(&account, ENFORCE);
    assert!(run(&account, &policy).await.succeeded());
    let validated = validate("prod", &policy.spec).expect("valid");
    let cloud = account.connector().connect(&validated.aws).await.expect("connect");
    let deleted = engine::cleanup(cloud.as_ref(), &validated).await.expect("cleanup");
    assert_eq!(deleted.len(), 1, "only the S3 endpoint was ours");
    let left: Vec<String> = account.endpoints(&vpc.vpc_id).await.iter().filter_map(|e| e.vpc_endpoint_id().map(str::to_string)).collect();
    assert_eq!(left, [hand_made]);
    // Cleanup again finds nothing left: removing the finalizer when AWS is already clean works.
    assert!(engine::cleanup(cloud.as_ref(), &validated).await.expect("cleanup").is_empty());
}

#[tokio::test]
async fn a_role_in_another_account_sees_only_that_account() {
    let mine = messy_account().await;
    let other = TestAccount::new().await;
    let policy = policy_for(&other, ENFORCE);
    let applied = run(&other, &policy).await;
    let status = report::status(&applied, None, None, &now());
    assert_eq!(status.gateway_endpoints.expect("status").vpcs_in_scope, 0);
    assert_eq!(mine.account.endpoints(&mine.app.vpc_id).await.len(), 0);
}
