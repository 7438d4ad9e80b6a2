//! rightSizing against the AWS emulator (Compute Optimizer is the project's extension C1,
//! reached over the Rust SDK's own protocol): Audit reads the enrollment only and makes no
//! mutating call; Enforce enrolls, and the next run reads every page of the recommendations
//! in scope (by kind and by tag, Auto Scaling groups' tags included) and never touches a
//! resource.

mod common;

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use common::{REGION, TestAccount, control, policy_for};
use frugal_operator::api::validate::validate;
use frugal_operator::api::{CostPolicy, RightSizingStatus};
use frugal_operator::engine::{self, CloudConnector, report};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

fn policy(account: &TestAccount, mode: &str, section: &str) -> CostPolicy {
    policy_for(
        account,
        &format!(
            "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: sizing}}\nspec:\n  mode: {mode}\n  aws: {{region: {REGION}}}\n  rightSizing: {section}\n"
        ),
    )
}

/// One run of `policy` against the test account; its status block.
async fn run(account: &TestAccount, policy: &CostPolicy) -> RightSizingStatus {
    let validated = validate("sizing", &policy.spec).expect("valid policy");
    let connector = account.connector();
    let cloud = connector.connect(&validated.aws).await.expect("connect");
    let planned = engine::observe_and_plan(cloud.as_ref(), validated, Timestamp::now().as_second()).await;
    let applied = engine::act(cloud.as_ref(), planned).await;
    assert!(applied.succeeded(), "{:?}", applied.first_error());
    report::status(&applied, None, Some(1), &Time(Timestamp::now())).right_sizing.expect("rightSizing status")
}

async fn operations(account: &TestAccount) -> Vec<String> {
    account.requests().await.into_iter().filter(|r| r.service == "compute-optimizer").map(|r| r.operation).collect()
}

async fn volume(account: &TestAccount, env: Option<&str>) -> String {
    let mut request = account.ec2.create_volume().availability_zone(format!("{REGION}a")).size(100).volume_type("gp2".into());
    if let Some(env) = env {
        let tags =
            TagSpecification::builder().resource_type(ResourceType::Volume).tags(Tag::builder().key("env").value(env).build()).build();
        request = request.tag_specifications(tags);
    }
    request.send().await.expect("CreateVolume").volume_id().expect("volume id").to_string()
}

#[tokio::test]
async fn audit_reads_the_enrollment_only_and_changes_nothing() {
    let account = TestAccount::new().await;
    let status = run(&account, &policy(&account, "Audit", "{}")).await;
    assert_eq!((status.enrollment.as_str(), status.findings), ("Inactive", 1), "{status:#?}");
    // Not enrolled, AWS answers every recommendation request OptInRequiredException: none is made.
    assert_eq!(operations(&account).await, ["GetEnrollmentStatus"]);
    assert_eq!(account.mutating_requests().await.len(), 0, "Audit makes no mutating call");
}

#[tokio::test]
async fn enforce_enrolls_then_reads_every_page_in_scope_and_never_touches_a_resource() {
    let account = TestAccount::new().await;
    // 105 prod volumes (two pages of 100), one dev volume, one instance.
    let mut prod = Vec::new();
    for _ in 0..105 {
        prod.push(volume(&account, Some("prod")).await);
    }
    let dev = volume(&account, Some("dev")).await;
    let mut seeds: Vec<serde_json::Value> = prod
        .iter()
        .map(|id| {
            json!({"account": account.id, "region": REGION, "volumeId": id, "finding": "NotOptimized",
                   "recommendedVolume": {"volumeType": "gp3", "volumeSize": 100}, "estimatedMonthlySavingsUsd": 2.0})
        })
        .collect();
    seeds.push(
        json!({"account": account.id, "region": REGION, "volumeId": dev, "finding": "NotOptimized", "estimatedMonthlySavingsUsd": 500.0}),
    );
    let seeded = control("/_frugal/compute-optimizer/recommendations", json!(seeds)).await;
    assert_eq!(seeded["seeded"].as_array().map(Vec::len), Some(106), "{seeded}");
    let section = "{resources: [EbsVolumes], minMonthlySavingsUsd: 5, selector: {tags: {env: prod}}}";

    let first = run(&account, &policy(&account, "Enforce", section)).await;
    assert_eq!((first.enrollment.as_str(), first.resources_evaluated), ("Active", 0), "enrolled this run: {first:#?}");
    assert!(first.enrolled_at.is_some());
    assert_eq!(operations(&account).await, ["GetEnrollmentStatus", "UpdateEnrollmentStatus"]);

    account.clear_requests().await;
    let second = run(&account, &policy(&account, "Enforce", section)).await;
    assert_eq!((second.resources_evaluated, second.not_optimized), (105, 105), "the dev volume is out of scope: {second:#?}");
    assert_eq!(second.estimated_monthly_savings_usd, "210.00", "105 × $2.00, the dev volume's $500 not in scope");
    assert_eq!((second.opportunities, second.opportunities_below_threshold), (0, 105), "each saves less than $5");
    assert_eq!(operations(&account).await, ["GetEnrollmentStatus", "GetEBSVolumeRecommendations", "GetEBSVolumeRecommendations"]);
    let mutating: Vec<String> = account.mutating_requests().await.into_iter().map(|r| r.operation).collect();
    assert_eq!(mutating, Vec::<String>::new(), "findings change nothing: no resize, no modify");
}

#[tokio::test]
async fn auto_scaling_groups_are_selected_by_their_own_tags_and_instances_by_theirs() {
    let account = TestAccount::new().await;
    account.auto_scaling_group("web-prod", "prod").await;
    account.auto_scaling_group("web-dev", "dev").await;
    let instance = account.launch_instance(&[], None).await;
    account.ec2.create_tags().resources(&instance).tags(Tag::builder().key("env").value("prod").build()).send().await.expect("CreateTags");
    let seeds = json!([
        {"account": account.id, "region": REGION, "autoScalingGroupName": "web-prod", "finding": "NotOptimized", "recommendedType": "m5.large", "estimatedMonthlySavingsUsd": 140.16},
        {"account": account.id, "region": REGION, "autoScalingGroupName": "web-dev", "finding": "NotOptimized", "recommendedType": "m5.large", "estimatedMonthlySavingsUsd": 999.0},
        {"account": account.id, "region": REGION, "instanceId": instance, "finding": "Underprovisioned", "recommendedType": "m5.4xlarge", "estimatedMonthlySavingsUsd": 0.0},
    ]);
    control("/_frugal/compute-optimizer/recommendations", seeds).await;
    control("/_frugal/compute-optimizer/enrollment", json!({"account": account.id, "status": "Active"})).await;

    let status = run(&account, &policy(&account, "Audit", "{selector: {tags: {env: prod}}}")).await;
    let listed: Vec<(&str, &str, &str)> =
        status.resources.iter().map(|r| (r.kind.as_str(), r.id.as_str(), r.estimated_monthly_savings_usd.as_str())).collect();
    assert_eq!(listed, [("AutoScalingGroups", "web-prod", "140.16"), ("Ec2Instances", instance.as_str(), "0.00")], "{status:#?}");
    assert_eq!((status.underprovisioned, status.estimated_monthly_savings_usd.as_str()), (1, "140.16"));
    assert_eq!(status.resources[0].recommended, "m5.large");
}
