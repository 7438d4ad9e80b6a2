//! Snapshot retention against the AWS emulator: grace periods across runs with a moving
//! clock, every protection, pagination, the cap and pacing.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{REGION, TestAccount, control, policy_for};
use frugal_operator::api::CostPolicy;
use frugal_operator::api::conditions::{self, reason};
use frugal_operator::api::validate::validate;
use frugal_operator::aws::{AwsConnector, PaceClass};
use frugal_operator::engine::{self, AppliedRun, CloudConnector, report};
use frugal_operator::metrics::Metrics;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

const DAY: i64 = 86_400;

fn policy(account: &TestAccount, mode: &str, retention: &str) -> CostPolicy {
    policy_for(
        account,
        &format!(
            "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: snaps}}\nspec:\n  mode: {mode}\n  aws: {{region: eu-west-1}}\n  snapshotRetention: {retention}\n"
        ),
    )
}

async fn run_at(account: &TestAccount, policy: &CostPolicy, now: i64) -> AppliedRun {
    let validated = validate("snaps", &policy.spec).expect("valid policy");
    let cloud = account.connector().connect(&validated.aws).await.expect("connect");
    let planned = engine::observe_and_plan(cloud.as_ref(), validated, now).await;
    engine::act(cloud.as_ref(), planned).await
}

fn now() -> i64 {
    Timestamp::now().as_second()
}

fn time() -> Time {
    Time(Timestamp::now())
}

#[tokio::test]
async fn expired_snapshots_are_tagged_then_deleted_after_the_grace_period() {
    let account = TestAccount::new().await;
    let (_, old) = account.snapshots_of_new_volume(3, 10).await;
    let (_, young) = account.snapshots_of_new_volume(1, 10).await;
    account.age_snapshots(&old, 40).await;
    let p = policy(&account, "Enforce", "{maxAgeDays: 30, maxDeletionsPerRun: 10, gracePeriod: 24h}");

    let first = run_at(&account, &p, now()).await;
    assert!(first.succeeded(), "{:?}", first.first_error());
    assert_eq!(account.snapshot_ids().await.len(), 4, "nothing is deleted in the first run");
    let tagged = account
        .ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag-key").values("frugal.dev/expires-at").build())
        .send()
        .await
        .expect("DescribeSnapshots");
    let tagged: BTreeSet<String> = tagged.snapshots().iter().filter_map(|s| s.snapshot_id().map(str::to_string)).collect();
    assert_eq!(tagged, old.iter().cloned().collect());
    let status = report::status(&first, None, Some(1), &time());
    assert_eq!(
        conditions::find(&status.conditions, conditions::SNAPSHOTS_IN_SYNC).map(|c| c.reason.as_str()),
        Some(reason::DELETION_PENDING)
    );

    // Half a day later: still within the grace period.
    let second = run_at(&account, &p, now() + DAY / 2).await;
    assert!(second.succeeded());
    assert_eq!(account.snapshot_ids().await.len(), 4);

    // Two days later the tagged snapshots are due and still expired: deleted.
    let third = run_at(&account, &p, now() + 2 * DAY).await;
    assert!(third.succeeded(), "{:?}", third.first_error());
    assert_eq!(account.snapshot_ids().await, young.iter().cloned().collect::<BTreeSet<_>>());
    let status = report::status(&third, Some(&status), Some(1), &time());
    assert_eq!(status.snapshot_retention.as_ref().map(|s| (s.deleted_last_run, s.deleted_total)), Some((3, 3)));
}

#[tokio::test]
async fn a_snapshot_that_is_no_longer_expired_loses_its_tag_and_survives() {
    let account = TestAccount::new().await;
    let (_, old) = account.snapshots_of_new_volume(1, 10).await;
    account.age_snapshots(&old, 40).await;
    assert!(run_at(&account, &policy(&account, "Enforce", "{maxAgeDays: 30, maxDeletionsPerRun: 10}"), now()).await.succeeded());
    // The policy is relaxed before the grace period ends.
    let relaxed = policy(&account, "Enforce", "{maxAgeDays: 90, maxDeletionsPerRun: 10}");
    assert!(run_at(&account, &relaxed, now() + 2 * DAY).await.succeeded());
    assert_eq!(account.snapshot_ids().await.len(), 1);
    let snapshot = account.ec2.describe_snapshots().snapshot_ids(&old[0]).send().await.expect("DescribeSnapshots");
    assert!(snapshot.snapshots()[0].tags().iter().all(|t| t.key() != Some("frugal.dev/expires-at")));
}

#[tokio::test]
async fn ami_launch_template_backup_dlm_locked_and_pending_snapshots_survive() {
    let account = TestAccount::new().await;
    let (_, ids) = account.snapshots_of_new_volume(8, 20).await;
    account.age_snapshots(&ids, 400).await;
    let [ami, template, backup, dlm, locked, pending, excluded, free] = ids.as_slice() else { panic!("eight snapshots") };
    account.register_ami("golden", ami).await;
    account
        .ec2
        .create_launch_template()
        .launch_template_name("web")
        .launch_template_data(
            aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                .block_device_mappings(
                    aws_sdk_ec2::types::LaunchTemplateBlockDeviceMappingRequest::builder()
                        .device_name("/dev/sdf")
                        .ebs(aws_sdk_ec2::types::LaunchTemplateEbsBlockDeviceRequest::builder().snapshot_id(template).build())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CreateLaunchTemplate");
    control("/_frugal/snapshots/mark-backup", serde_json::json!({"account": account.id, "region": REGION, "snapshot_id": backup})).await;
    control(
        "/_frugal/snapshots/tags",
        serde_json::json!({"account": account.id, "region": REGION, "snapshot_id": dlm, "tags": {"aws:dlm:lifecycle-policy-id": "policy-0123"}}),
    )
    .await;
    account
        .ec2
        .lock_snapshot()
        .snapshot_id(locked)
        .lock_mode(aws_sdk_ec2::types::LockMode::Governance)
        .lock_duration(30)
        .send()
        .await
        .expect("LockSnapshot");
    control(
        "/_frugal/snapshots/start-time",
        serde_json::json!({"account": account.id, "region": REGION, "snapshot_id": pending, "state": "pending"}),
    )
    .await;
    account
        .ec2
        .create_tags()
        .resources(excluded)
        .tags(aws_sdk_ec2::types::Tag::builder().key("frugal.dev/keep").value("true").build())
        .send()
        .await
        .expect("CreateTags");

    let p = policy(
        &account,
        "Enforce",
        "{maxAgeDays: 30, maxDeletionsPerRun: 100, gracePeriod: 0s, exclude: {tags: {frugal.dev/keep: \"true\"}}}",
    );
    let applied = run_at(&account, &p, now()).await;
    assert!(applied.succeeded(), "{:?}", applied.first_error());
    let left = account.snapshot_ids().await;
    assert!(!left.contains(free), "the unprotected snapshot is deleted");
    for kept in [ami, template, backup, dlm, locked, pending, excluded] {
        assert!(left.contains(kept), "{kept} must survive");
    }
    let status = report::status(&applied, None, Some(1), &time());
    let skipped = status.snapshot_retention.expect("area").skipped;
    assert_eq!(
        (
            skipped.used_by_ami,
            skipped.used_by_launch_template,
            skipped.managed_by_backup,
            skipped.managed_by_dlm,
            skipped.locked,
            skipped.not_completed,
            skipped.excluded
        ),
        (1, 1, 1, 1, 1, 1, 1)
    );
}

#[tokio::test]
async fn more_than_one_page_is_read_and_audit_changes_nothing() {
    let account = TestAccount::new().await;
    let seeded = control(
        "/_frugal/bulk/snapshots",
        serde_json::json!({"account": account.id, "region": REGION, "count": 2500, "volume_count": 250, "start_time_spread_days": 100, "tags": {"env": "prod"}}),
    )
    .await;
    assert_eq!(seeded["snapshot_ids"].as_array().map(Vec::len), Some(2500));
    account.clear_requests().await;
    let p = policy(&account, "Audit", "{maxAgeDays: 50, keepLatestPerVolume: 2, selector: {tags: {env: prod}}}");
    let applied = run_at(&account, &p, now()).await;
    assert!(applied.succeeded(), "{:?}", applied.first_error());
    let requests = account.requests().await;
    assert_eq!(requests.iter().filter(|r| r.operation == "DescribeSnapshots").count(), 3, "ceil(2500/1000) pages");
    assert!(requests.iter().all(|r| !r.is_mutating()), "{requests:?}");
    let status = report::status(&applied, None, Some(1), &time());
    let snapshots = status.snapshot_retention.expect("area");
    assert_eq!(snapshots.evaluated, 2500);
    // Each volume holds 10 snapshots spread over 100 days: about half are older than 50 days,
    // and the newest 2 of each volume are young anyway.
    assert!((1000..1500).contains(&snapshots.findings), "{}", snapshots.findings);
}

#[tokio::test]
async fn the_cap_limits_each_run_and_the_rest_follows_on_the_next() {
    let account = TestAccount::new().await;
    let seeded =
        control("/_frugal/bulk/snapshots", serde_json::json!({"account": account.id, "region": REGION, "count": 30, "volume_count": 30}))
            .await;
    let ids: Vec<String> = serde_json::from_value(seeded["snapshot_ids"].clone()).expect("ids");
    account.age_snapshots(&ids, 60).await;
    let p = policy(&account, "Enforce", "{maxAgeDays: 30, maxDeletionsPerRun: 20, gracePeriod: 0s}");
    let first = run_at(&account, &p, now()).await;
    assert_eq!(account.snapshot_ids().await.len(), 10);
    let status = report::status(&first, None, Some(1), &time());
    assert_eq!(status.snapshot_retention.as_ref().map(|s| (s.deleted_last_run, s.pending)), Some((20, 10)));
    run_at(&account, &p, now()).await;
    assert!(account.snapshot_ids().await.is_empty());
}

#[tokio::test]
async fn deletions_are_paced_at_the_configured_rate() {
    let account = TestAccount::new().await;
    let seeded =
        control("/_frugal/bulk/snapshots", serde_json::json!({"account": account.id, "region": REGION, "count": 12, "volume_count": 12}))
            .await;
    let ids: Vec<String> = serde_json::from_value(seeded["snapshot_ids"].clone()).expect("ids");
    account.age_snapshots(&ids, 60).await;
    let mut pacing = common::fast_pacing();
    pacing.rates.insert(PaceClass::DeleteSnapshot, (2.0, 10.0));
    let connector =
        AwsConnector::new(Metrics::new(), pacing).with_overrides(Some(common::emulator().url.clone()), Some(common::base_credentials()));
    let p = policy(&account, "Enforce", "{maxAgeDays: 30, maxDeletionsPerRun: 100, gracePeriod: 0s}");
    let validated = validate("snaps", &p.spec).expect("valid");
    let cloud = connector.connect(&validated.aws).await.expect("connect");
    let planned = engine::observe_and_plan(cloud.as_ref(), validated, now()).await;
    let start = Instant::now();
    let applied = engine::act(cloud.as_ref(), planned).await;
    // A burst of 2, then 10 more at 10/s: at least a second, however fast the emulator is.
    assert!(start.elapsed() >= Duration::from_millis(950), "{:?}", start.elapsed());
    assert!(applied.succeeded());
    assert!(account.snapshot_ids().await.is_empty());
}

#[tokio::test]
async fn with_no_grace_period_a_failed_tag_call_deletes_nothing() {
    use common::fault_proxy::{FaultConfig, FaultKind, FaultProxy};
    let account = TestAccount::new().await;
    let (_, old) = account.snapshots_of_new_volume(3, 10).await;
    account.age_snapshots(&old, 40).await;
    // Every CreateTags is refused; every other request reaches the emulator.
    let mut config = FaultConfig::uniform(1.0);
    config.weights = [(FaultKind::AccessDenied, 1)].into();
    config.denied_operations = ["CreateTags".to_string()].into();
    let proxy = FaultProxy::start(&common::emulator().url, 1, config).await;
    let connector =
        AwsConnector::new(Metrics::new(), common::fast_pacing()).with_overrides(Some(proxy.url.clone()), Some(common::base_credentials()));
    let p = policy(&account, "Enforce", "{maxAgeDays: 30, maxDeletionsPerRun: 10, gracePeriod: 0s}");
    let validated = validate("snaps", &p.spec).expect("valid");
    let cloud = connector.connect(&validated.aws).await.expect("connect");
    let planned = engine::observe_and_plan(cloud.as_ref(), validated, now()).await;
    let applied = engine::act(cloud.as_ref(), planned).await;

    assert_eq!(account.snapshot_ids().await, old.iter().cloned().collect::<BTreeSet<_>>(), "an untagged snapshot is never deleted");
    assert!(proxy.seen().iter().all(|s| s.operation != "DeleteSnapshot"), "no DeleteSnapshot was even sent");
    let status = report::status(&applied, None, Some(1), &time());
    let condition = conditions::find(&status.conditions, conditions::SNAPSHOTS_IN_SYNC).expect("condition");
    assert_eq!(condition.reason, reason::ACTION_FAILED);
    assert!(condition.message.contains("CreateTags failed (access_denied)"), "{}", condition.message);
    assert_eq!(status.snapshot_retention.as_ref().map(|s| (s.deleted_last_run, s.pending)), Some((0, 3)));
}
