//! snapshotRetention through the controller: tag first, delete after the grace period, report
//! it in status, Events and metrics; Audit and a failed read change nothing.

use crate::api::SnapshotRetentionSpec;
use crate::plan::snapshot_retention::Snapshot;

use super::*;

const DAY: i64 = 86_400;

fn snapshot(id: &str, gib: u32, age_days: i64) -> Snapshot {
    Snapshot {
        id: id.to_string(),
        volume_id: Some("vol-0a1b2c3d".to_string()),
        volume_size_gib: gib,
        start_time: k8s_openapi::jiff::Timestamp::now().as_second() - age_days * DAY,
        state: "completed".to_string(),
        description: String::new(),
        tags: Tags::new(),
    }
}

/// An expired 100 GiB snapshot, an expired one behind an AMI, and a young one.
pub(super) fn account() -> FakeCloud {
    let cloud = FakeCloud::default();
    {
        let mut account = lock(&cloud.account);
        account.snapshots.snapshots =
            vec![snapshot("snap-old", 100, 400), snapshot("snap-ami", 50, 400), snapshot("snap-young", 8, 3)].into();
        account.snapshots.ami_snapshots = BTreeSet::from(["snap-ami".to_string()]);
    }
    cloud
}

/// snapshotRetention alone: older than 30 days, the default 24h grace period, cap 10.
pub(super) fn retention_policy() -> CostPolicy {
    let section: SnapshotRetentionSpec = serde_yaml::from_str("{maxAgeDays: 30, maxDeletionsPerRun: 10}").expect("fixture parses");
    CostPolicy::test().with_finalizer().with_spec(|spec| {
        spec.gateway_endpoints = None;
        spec.snapshot_retention = Some(section);
    })
}

fn snapshot_ids(cloud: &FakeCloud) -> Vec<String> {
    lock(&cloud.account).snapshots.snapshots.iter().map(|s| s.id.clone()).collect()
}

#[tokio::test]
async fn enforce_tags_the_expired_snapshot_and_a_run_after_the_grace_period_deletes_it_and_reports_the_savings() {
    let mut harness = Harness::new(account());
    let policy = retention_policy().enforce();

    harness
        .reconcile(policy.clone(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "SnapshotsInSync", "False", "DeletionPending");
            let snapshots = &status["snapshotRetention"];
            assert_eq!(
                (snapshots["evaluated"].as_u64(), snapshots["expiring"].as_u64(), snapshots["deletedLastRun"].as_u64()),
                (Some(3), Some(1), Some(0)),
                "{snapshots:#}"
            );
            assert_eq!(snapshots["skipped"]["usedByAmi"], 1, "the AMI's snapshot is protected and counted by reason");
            assert_eq!(snapshots["expiredGib"], 100, "the expiring snapshot's volume size; not the protected one's");
            assert!(snapshots["earliestDeletionTime"].is_string(), "{snapshots:#}");
            let expiring = api.expect_event("Normal", "SnapshotsExpiring").await;
            assert!(note(&expiring).contains("tag 1 snapshots frugal.dev/expires-at="), "{expiring:#}");
            api
        })
        .await
        .expect("first reconcile succeeds");
    let calls = harness.cloud.calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert!(matches!(&calls[2], CloudCall::SnapshotRetentionChange(c) if c.starts_with("tag 1 snapshots")), "{calls:?}");
    assert_eq!(snapshot_ids(&harness.cloud), ["snap-old", "snap-ami", "snap-young"], "nothing is deleted within the grace period");

    // A day later: the grace period of the tagged snapshot has run out.
    {
        let mut account = lock(&harness.cloud.account);
        let old = std::sync::Arc::make_mut(&mut account.snapshots.snapshots).iter_mut().find(|s| s.id == "snap-old").expect("snap-old");
        let passed = k8s_openapi::jiff::Timestamp::from_second(k8s_openapi::jiff::Timestamp::now().as_second() - 60).expect("time");
        old.tags.insert(TAG_EXPIRES_AT.to_string(), passed.to_string());
    }
    harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "SnapshotsInSync", "True", "Reconciled");
            let snapshots = &status["snapshotRetention"];
            assert_eq!(
                (snapshots["deletedLastRun"].as_u64(), snapshots["deletedTotal"].as_u64(), snapshots["deletedGibTotal"].as_u64()),
                (Some(1), Some(1), Some(100)),
                "{snapshots:#}"
            );
            assert_eq!(snapshots["recentlyDeleted"], json!(["snap-old"]));
            assert_eq!((snapshots["deletedGibLastRun"].as_u64(), snapshots["expiredGib"].as_u64()), (Some(100), Some(0)));
            let cost = status["cost"]["areas"].as_array().and_then(|a| a.iter().find(|c| c["area"] == "snapshotRetention")).cloned();
            let cost = cost.expect("snapshotRetention cost");
            assert_eq!((cost["monthlySavingsUsd"].as_str(), cost["monthlyWasteUsd"].as_str()), (Some("5.00"), Some("0.00")), "{cost:#}");
            let deleted = api.expect_event("Normal", "SnapshotsDeleted").await;
            assert!(note(&deleted).contains(&format!(
                    "deleted 1 expired snapshots (100 GiB, up to $5.00/month at $0.05/GB-month EBS snapshot storage (built-in list price for eu-west-1 as of {})): snap-old",
                    crate::pricing::built_in::AS_OF
                )), "{deleted:#}");
            api
        })
        .await
        .expect("second reconcile succeeds");
    assert_eq!(snapshot_ids(&harness.cloud), ["snap-ami", "snap-young"]);
    let metrics = harness.metrics();
    assert!(metrics.contains(r#"frugal_snapshots{policy="team-a",state="deleted_total",reason=""} 1"#), "{metrics}");
    assert!(metrics.contains(r#"frugal_snapshots{policy="team-a",state="skipped",reason="used_by_ami"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"frugal_snapshot_gib{policy="team-a",state="deleted_total",reason=""} 100"#), "{metrics}");
    assert!(metrics.contains(r#"frugal_monthly_savings_usd{policy="team-a",area="snapshotRetention"} 5.0"#), "{metrics}");
}

#[tokio::test]
async fn audit_reports_the_expired_snapshot_and_never_tags_or_deletes() {
    let mut harness = Harness::new(account());

    harness
        .reconcile(retention_policy(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "SnapshotsInSync", "False", "DriftFound");
            let condition = condition(&status, "SnapshotsInSync");
            assert!(
                condition["message"].as_str().is_some_and(|m| m.contains("1 expired snapshots (100 GiB) would be deleted")),
                "{condition:#}"
            );
            api
        })
        .await
        .expect("reconcile succeeds");
    let calls = harness.cloud.calls();
    assert!(!calls.iter().any(CloudCall::is_mutating), "{calls:?}");
    assert_eq!(snapshot_ids(&harness.cloud), ["snap-old", "snap-ami", "snap-young"]);
}

#[tokio::test]
async fn a_failed_read_of_the_locks_names_the_operation_and_deletes_nothing() {
    let mut cloud = account();
    cloud.fail_observe_snapshots = Some(CloudError::new("DescribeLockedSnapshots", ErrorKind::AccessDenied, "not authorized"));
    let mut harness = Harness::new(cloud);

    harness
        .reconcile(retention_policy().enforce(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "SnapshotsInSync", "False", "ObservationFailed");
            let message = condition(&status, "SnapshotsInSync")["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains("DescribeLockedSnapshots") && message.contains("no snapshot was deleted"), "{message}");
            let warning = api.expect_event("Warning", "ObservationFailed").await;
            assert!(note(&warning).contains("DescribeLockedSnapshots"), "{warning:#}");
            api
        })
        .await
        .expect_err("a failed observation is retried");
    let calls = harness.cloud.calls();
    assert!(!calls.iter().any(CloudCall::is_mutating), "safety rule 7: {calls:?}");
}
