//! cloudWatch through the controller: Enforce sets the retention of a log group that never
//! expires, creates the status-check alarm of a running instance (never of a stopped one),
//! adopts someone else's alarm, tags an orphan alarm of this policy and deletes it after the
//! grace period; deletionPolicy Delete removes this policy's alarms only; Audit changes nothing.

use crate::api::CloudWatchSpec;
use crate::api::names::TAG_EXPIRES_AT;
use crate::plan::cloud_watch::{
    Alarm, COMPARISON, CloudWatchInventory, EVALUATION_PERIODS, INSTANCE_ID, Instance, LogGroup, NAMESPACE, PERIOD_SECONDS, STATISTIC,
    THRESHOLD,
};
use crate::plan::snapshot_retention::rfc3339;

use super::*;

fn cloud_watch_only(policy: CostPolicy) -> CostPolicy {
    let section: CloudWatchSpec = serde_yaml::from_str(
        "{logRetention: {days: 30}, instanceAlarms: {notify: 'arn:aws:sns:eu-west-1:123456789012:ops'}, orphanAlarms: Delete, gracePeriod: 24h}",
    )
    .expect("fixture parses");
    policy.with_spec(|spec| {
        spec.gateway_endpoints = None;
        spec.cloud_watch = Some(section);
    })
}

fn alarm(name: &str, instance: &str, tags: Tags) -> Alarm {
    Alarm {
        name: name.to_string(),
        arn: format!("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{name}"),
        namespace: NAMESPACE.to_string(),
        metric: "StatusCheckFailed".to_string(),
        dimensions: [(INSTANCE_ID.to_string(), instance.to_string())].into(),
        statistic: STATISTIC.to_string(),
        period: PERIOD_SECONDS,
        evaluation_periods: EVALUATION_PERIODS,
        threshold: THRESHOLD,
        comparison: COMPARISON.to_string(),
        actions: Default::default(),
        tags: Some(tags),
    }
}

fn instance(id: &str, state: &str) -> Instance {
    Instance { id: id.to_string(), state: state.to_string(), tags: Tags::new() }
}

/// A log group that never expires (120 GB), one with an explicit year, a running instance, a
/// stopped one, one adopted through someone else's alarm, and two orphan alarms: this
/// policy's and someone else's.
fn account() -> CloudWatchInventory {
    CloudWatchInventory {
        log_groups: vec![
            LogGroup { name: "/aws/lambda/orders".to_string(), retention_days: None, stored_bytes: 120_000_000_000 },
            LogGroup { name: "/aws/lambda/audit".to_string(), retention_days: Some(365), stored_bytes: 8_000_000_000 },
        ],
        instances: vec![instance("i-run", "running"), instance("i-stopped", "stopped"), instance("i-theirs", "running")],
        alarms: vec![
            alarm("web status", "i-theirs", Tags::new()),
            alarm(&format!("frugal-{NAME}-i-gone-status-check"), "i-gone", ownership_tags(NAME)),
            alarm("old hand-made", "i-gone", Tags::new()),
        ],
    }
}

#[tokio::test]
async fn cloud_watch_enforce_sets_retention_alarms_the_running_instance_and_retires_its_own_orphans() {
    let mut harness = Harness::new(FakeCloud::default().with_cloud_watch(account()));
    let policy = cloud_watch_only(CostPolicy::test().with_finalizer().enforce());
    harness
        .reconcile(policy.clone(), |mut api| async move {
            let status = api.expect_status_patch().await;
            // The orphan is tagged and waits a day: not in sync, Ready says what is pending.
            assert_condition(&status, "CloudWatchInSync", "False", "DeletionPending");
            assert_condition(&status, "Ready", "True", "DeletionPending");
            let cw = &status["cloudWatch"];
            assert_eq!((cw["retentionSetLastRun"].as_u64(), cw["logGroupsNeverExpire"].as_u64()), (Some(1), Some(0)), "{cw:#}");
            assert_eq!(
                (cw["alarmsCreatedLastRun"].as_u64(), cw["alarmsAdopted"].as_u64(), cw["instancesWithoutAlarms"].as_u64()),
                (Some(1), Some(1), Some(0))
            );
            assert_eq!((cw["orphanAlarms"].as_u64(), cw["orphanAlarmsExpiring"].as_u64()), (Some(2), Some(1)));
            let cost =
                status["cost"]["areas"].as_array().expect("areas").iter().find(|a| a["area"] == "cloudWatch").cloned().expect("cost");
            assert_eq!(
                (cost["monthlySavingsUsd"].as_str(), cost["monthlyWasteUsd"].as_str(), cost["monthlyCostUsd"].as_str()),
                (Some("3.60"), Some("0.20"), Some("0.10")),
                "{cost:#}"
            );
            for reason in ["CloudWatchRetentionSet", "CloudWatchAlarmsCreated", "CloudWatchOrphanAlarmsExpiring"] {
                api.expect_event("Normal", reason).await;
            }
            api
        })
        .await
        .expect("reconcile succeeds");
    let after = harness.cloud.cloud_watch();
    assert_eq!(
        after.log_groups.iter().map(|g| g.retention_days).collect::<Vec<_>>(),
        [Some(30), Some(365)],
        "an explicit retention is never shortened"
    );
    let names: Vec<&str> = after.alarms.iter().map(|a| a.name.as_str()).collect();
    assert!(names.contains(&format!("frugal-{NAME}-i-run-status-check").as_str()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.contains("i-stopped") || n.contains("i-theirs-")),
        "no alarm for a stopped or adopted instance: {names:?}"
    );

    // The grace period passes.
    let ours = format!("frugal-{NAME}-i-gone-status-check");
    for alarm in &mut lock(&harness.cloud.account).cloud_watch.alarms {
        if alarm.name == ours {
            alarm
                .tags
                .get_or_insert_with(Tags::new)
                .insert(TAG_EXPIRES_AT.to_string(), rfc3339(k8s_openapi::jiff::Timestamp::now().as_second() - 60));
        }
    }
    harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "CloudWatchInSync", "True", "Reconciled");
            assert_eq!(status["cloudWatch"]["orphanAlarmsDeletedLastRun"].as_u64(), Some(1));
            api.expect_event("Normal", "CloudWatchOrphanAlarmsDeleted").await;
            api
        })
        .await
        .expect("second reconcile succeeds");
    let names: Vec<String> = harness.cloud.cloud_watch().alarms.iter().map(|a| a.name.clone()).collect();
    assert!(!names.contains(&ours) && names.contains(&"old hand-made".to_string()), "someone else's orphan is kept with Delete: {names:?}");
}

#[tokio::test]
async fn cloud_watch_audit_changes_nothing_and_delete_removes_only_this_policys_alarms() {
    let mut harness = Harness::new(FakeCloud::default().with_cloud_watch(account()));
    harness
        .reconcile(cloud_watch_only(CostPolicy::test().with_finalizer()), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "CloudWatchInSync", "False", "DriftFound");
            api
        })
        .await
        .expect("reconcile succeeds");
    assert!(!harness.cloud.calls().iter().any(CloudCall::is_mutating));
    assert_eq!(harness.cloud.cloud_watch(), account());

    let policy = cloud_watch_only(CostPolicy::test().with_finalizer().enforce()).deletion_policy(DeletionPolicy::Delete).deleting();
    let ours = format!("alarm frugal-{NAME}-i-gone-status-check");
    harness
        .reconcile(policy, |mut api| async move {
            let event = api.expect_event("Normal", "Deleted").await;
            assert!(note(&event).contains(&ours), "{event:#}");
            api.expect_remove_finalizer().await;
            api
        })
        .await
        .expect("cleanup succeeds");
    let names: Vec<String> = harness.cloud.cloud_watch().alarms.iter().map(|a| a.name.clone()).collect();
    assert_eq!(names, ["web status", "old hand-made"], "others' alarms stay");
    assert_eq!(harness.cloud.cloud_watch().log_groups, account().log_groups, "retentions and log data are never removed");
}
