//! Shared observation against the AWS emulator: policies of one account and region observed
//! within the observation TTL cost one set of describe calls, launch templates are read once
//! for both areas that need them, and the operator's own changes are seen on the next run.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ec2::types::RequestLaunchTemplateData;
use common::{TestAccount, base_credentials, emulator, fast_pacing, policy_for};
use frugal_operator::api::CostPolicy;
use frugal_operator::api::validate::validate;
use frugal_operator::aws::AwsConnector;
use frugal_operator::engine::{self, CloudConnector};
use frugal_operator::metrics::Metrics;
use k8s_openapi::jiff::Timestamp;

fn policy(account: &TestAccount, name: &str, mode: &str) -> CostPolicy {
    policy_for(
        account,
        &format!(
            "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: {name}}}\nspec:\n  mode: {mode}\n  aws: {{region: eu-west-1}}\n  \
             snapshotRetention: {{maxAgeDays: 30, maxDeletionsPerRun: 100, gracePeriod: 0s}}\n  ssmAccess: {{revokeWorldSsh: true}}\n"
        ),
    )
}

fn connector(ttl: Duration) -> Arc<AwsConnector> {
    Arc::new(
        AwsConnector::new(Metrics::new(), fast_pacing())
            .with_overrides(Some(emulator().url.clone()), Some(base_credentials()))
            .with_observation_ttl(ttl),
    )
}

/// Observes, plans and acts; returns the drift observed.
async fn run(connector: &AwsConnector, policy: &CostPolicy) -> usize {
    let name = policy.metadata.name.clone().unwrap_or_default();
    let validated = validate(&name, &policy.spec).expect("valid policy");
    let cloud = connector.connect(&validated.aws).await.expect("connect");
    let planned = engine::observe_and_plan(cloud.as_ref(), validated, Timestamp::now().as_second()).await;
    let drift = planned.drift_count();
    let applied = engine::act(cloud.as_ref(), planned).await;
    assert!(applied.succeeded(), "{:?}", applied.first_error());
    drift
}

/// Read requests by operation (STS excluded: assuming the role is not observation).
async fn reads(account: &TestAccount) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in account.requests().await.into_iter().filter(|r| !r.is_mutating() && r.service != "sts") {
        *counts.entry(r.operation).or_default() += 1;
    }
    counts
}

async fn seeded_account() -> TestAccount {
    let account = TestAccount::new().await;
    let (_, old) = account.snapshots_of_new_volume(2, 10).await;
    account.age_snapshots(&old, 40).await;
    account
        .ec2
        .create_launch_template()
        .launch_template_name("web")
        .launch_template_data(RequestLaunchTemplateData::builder().image_id("ami-12345678").key_name("web-key").build())
        .send()
        .await
        .expect("CreateLaunchTemplate");
    account
}

#[tokio::test]
async fn ten_policies_on_one_account_within_the_ttl_cost_one_set_of_describe_calls() {
    let account = seeded_account().await;
    let connector = connector(Duration::from_secs(300));
    account.clear_requests().await;
    run(&connector, &policy(&account, "p0", "Audit")).await;
    let one = reads(&account).await;
    assert!(one.contains_key("DescribeSnapshots") && one.contains_key("DescribeSecurityGroups"), "{one:?}");
    assert_eq!(one.get("DescribeLaunchTemplateVersions"), Some(&1), "both areas share one read of the template versions: {one:?}");
    assert_eq!(one.get("DescribeLaunchTemplates"), Some(&1), "{one:?}");

    for n in 1..10 {
        run(&connector, &policy(&account, &format!("p{n}"), "Audit")).await;
    }
    assert_eq!(reads(&account).await, one, "nine more policies within the TTL read nothing more");
}

#[tokio::test]
async fn without_a_ttl_every_policy_observes_on_its_own() {
    let account = seeded_account().await;
    let connector = connector(Duration::ZERO);
    account.clear_requests().await;
    run(&connector, &policy(&account, "p0", "Audit")).await;
    let one = reads(&account).await;
    run(&connector, &policy(&account, "p1", "Audit")).await;
    let two = reads(&account).await;
    assert_eq!(two.get("DescribeSnapshots"), Some(&(2 * one["DescribeSnapshots"])), "{two:?}");
}

#[tokio::test]
async fn the_operators_own_changes_are_seen_by_the_next_observation_within_the_ttl() {
    let account = seeded_account().await;
    let connector = connector(Duration::from_secs(300));
    let drift = run(&connector, &policy(&account, "audit", "Audit")).await;
    assert!(drift > 0, "two expired snapshots are drift");
    assert_eq!(account.snapshot_ids().await.len(), 2);

    // With grace 0s the first apply tags and deletes; the second must see that.
    run(&connector, &policy(&account, "enforce", "Enforce")).await;
    assert!(account.snapshot_ids().await.is_empty());
    account.clear_requests().await;
    let drift = run(&connector, &policy(&account, "enforce", "Enforce")).await;
    assert_eq!(drift, 0, "the second apply within the TTL sees the first one's deletions, not its cached read");
    assert!(account.mutating_requests().await.is_empty(), "nothing is deleted twice");
    assert!(reads(&account).await.contains_key("DescribeSnapshots"), "the account was read again after the change");
    let drift = run(&connector, &policy(&account, "audit", "Audit")).await;
    assert_eq!(drift, 0);
}
