//! One status object pinned whole: an Enforce run of a policy with all four areas, over an
//! account with drift in each, and every key of the status the operator wrote compared with one
//! expected object. Only times are replaced by placeholders, each after checking that it is a
//! time of this run (or, for the snapshot waiting for deletion, one grace period after it).

use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::snapshot_retention::{account as snapshot_account, retention_policy};
use super::*;

/// The gateway endpoints of `CostPolicy::test()`, with the snapshotRetention section of
/// `retention_policy()`, the ssmAccess one of `ssm_access_only()` and the backup one of
/// `backup_only()`: all four areas, in Enforce mode.
fn every_area() -> CostPolicy {
    let snapshots = retention_policy().spec.snapshot_retention;
    let ssm = CostPolicy::test().ssm_access_only().spec.ssm_access;
    let backup = CostPolicy::test().backup_only().spec.backup;
    CostPolicy::test().with_finalizer().enforce().with_spec(|spec| {
        spec.snapshot_retention = snapshots;
        spec.ssm_access = ssm;
        spec.backup = backup;
    })
}

/// Takes the time at `pointer` out of `status`, checks that it lies between `from` (to the
/// second: some times are written without fractions) and `to`, puts `placeholder` in its place
/// and returns it as it was written.
fn replace_time(status: &mut Value, pointer: &str, (from, to): (Timestamp, Timestamp), placeholder: &str) -> String {
    let slot = status.pointer_mut(pointer).unwrap_or_else(|| panic!("status has no {pointer}"));
    let written = slot.as_str().unwrap_or_else(|| panic!("{pointer} is not a string: {slot}")).to_string();
    let time: Timestamp = written.parse().unwrap_or_else(|e| panic!("{pointer} = {written} is not RFC 3339: {e}"));
    assert!(from.as_second() <= time.as_second() && time <= to, "{pointer} = {written}, not between {from} and {to}");
    *slot = json!(placeholder);
    written
}

/// The JSON pointers at which `actual` and `expected` differ, with both values.
fn differences(pointer: &str, actual: &Value, expected: &Value, found: &mut Vec<String>) {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for key in a.keys().chain(e.keys().filter(|k| !a.contains_key(*k))) {
                let (a, e) = (a.get(key).unwrap_or(&Value::Null), e.get(key).unwrap_or(&Value::Null));
                differences(&format!("{pointer}/{key}"), a, e, found);
            }
        }
        (Value::Array(a), Value::Array(e)) if a.len() == e.len() => {
            for (i, (a, e)) in a.iter().zip(e).enumerate() {
                differences(&format!("{pointer}/{i}"), a, e, found);
            }
        }
        _ if actual != expected => found.push(format!("{pointer}: written {actual}, expected {expected}")),
        _ => {}
    }
}

#[tokio::test]
async fn an_enforce_run_over_every_area_writes_exactly_this_status() {
    let cloud = snapshot_account().with_vpc(VPC, PRIVATE_TABLE, PUBLIC_TABLE).with_ssm(ssm_drift()).with_backup(backup_drift());
    let mut harness = Harness::new(cloud);
    let written = Arc::new(Mutex::new(None));
    let slot = written.clone();

    let start = Timestamp::now();
    harness
        .reconcile(every_area(), |mut api| async move {
            *lock(&slot) = Some(api.expect_status_patch().await);
            for reason in [
                "EndpointCreated",
                "SnapshotsExpiring",
                "WorldSshRevoked",
                "WorldSshSplit",
                "InstanceProfileAttached",
                "BackupPlanDriftCorrected",
                "BackupSelectionCreated",
                "BackupSelectionReplaced",
            ] {
                api.expect_event("Normal", reason).await;
            }
            api
        })
        .await
        .expect("reconcile succeeds");
    let run = (start, Timestamp::now());

    let mut status = lock(&written).take().expect("status was written");
    replace_time(&mut status, "/lastChangeTime", run, "<now>");
    let conditions = status["conditions"].as_array().map_or(0, Vec::len);
    for i in 0..conditions {
        replace_time(&mut status, &format!("/conditions/{i}/lastTransitionTime"), run, "<now>");
    }
    replace_time(&mut status, "/backup/lastDriftCorrected/time", run, "<now>");
    // The snapshot tagged by this run is due one grace period (24h, the default) later; the
    // conditions that wait for it say when.
    let day = SignedDuration::from_hours(24);
    let grace = (run.0 + day, run.1 + day);
    let due = replace_time(&mut status, "/snapshotRetention/earliestDeletionTime", grace, "<now + 24h>");
    for condition in status["conditions"].as_array_mut().into_iter().flatten() {
        let message = condition["message"].as_str().unwrap_or_default().replace(&due, "<now + 24h>");
        condition["message"] = json!(message);
    }

    let expected = json!({
        "observedGeneration": 3,
        "conditions": [
            // Ready takes the message of the area that waits, naming it.
            {
                "type": "Ready",
                "status": "True",
                "reason": "DeletionPending",
                "message": "SnapshotsInSync: deleted 0; 1 expiring within the grace period, 0 over maxDeletionsPerRun or deferred by throttling; the first expiring one is due at <now + 24h>",
                "observedGeneration": 3,
                "lastTransitionTime": "<now>",
            },
            {
                "type": "Reconciling",
                "status": "False",
                "reason": "Idle",
                "message": "",
                "observedGeneration": 3,
                "lastTransitionTime": "<now>",
            },
            {
                "type": "Stalled",
                "status": "False",
                "reason": "Idle",
                "message": "",
                "observedGeneration": 3,
                "lastTransitionTime": "<now>",
            },
            {
                "type": "GatewayEndpointsInSync",
                "status": "True",
                "reason": "Reconciled",
                "message": "fixed: 1 endpoints and 1 route table associations missing",
                "observedGeneration": 3,
                "lastTransitionTime": "<now>",
            },
            {
                "type": "SnapshotsInSync",
                "status": "False",
                "reason": "DeletionPending",
                "message": "deleted 0; 1 expiring within the grace period, 0 over maxDeletionsPerRun or deferred by throttling; the first expiring one is due at <now + 24h>",
                "observedGeneration": 3,
                "lastTransitionTime": "<now>",
            },
            {
                "type": "SsmAccessInSync",
                "status": "True",
                "reason": "Reconciled",
                "message": "world-open SSH permissions revoked: 1, split: 1; all-traffic permissions revoked: 0; profiles attached: 1; key pairs deleted: 0; 1 findings reported, not changed by the spec",
                "observedGeneration": 3,
                "lastTransitionTime": "<now>",
            },
            {
                "type": "BackupInSync",
                "status": "True",
                "reason": "Reconciled",
                "message": "fixed: update backup plan prod-daily: rule daily: deleteAfterDays 14 → 35; create backup selection prod-edefab23 in plan prod-daily (tags backup=daily as arn:aws:iam::111122223333:role/service-role/AWSBackupDefaultServiceRole); delete backup selection prod-0badc0de (sel-old1) of plan plan-0001; delete backup selection prod-1badc0de (sel-old2) of plan plan-0001",
                "observedGeneration": 3,
                "lastTransitionTime": "<now>",
            },
        ],
        "lastChangeTime": "<now>",
        // The snapshot expiring, and the ports the split leaves open to the world.
        "findings": 2,
        "gatewayEndpoints": {
            "findings": 0,
            "vpcsInScope": 1,
            "missingEndpoints": 0,
            "missingRouteTableAssociations": 0,
            "endpointsCreated": 1,
            "routeTablesAssociated": 1,
            "adoptedEndpoints": 0,
            "vpcs": [
                {
                    "vpcId": "vpc-0a1b2c3d",
                    "endpoints": [{"service": "s3", "endpointId": "vpce-fake0001", "ownership": "Managed"}],
                    // 100 GiB through the NAT gateway in 30 days, at $0.045/GB.
                    "natDataProcessingMonthlyUsd": "4.80",
                },
            ],
            "vpcsNotListed": 0,
        },
        "snapshotRetention": {
            "findings": 1,
            "evaluated": 3,
            "retained": 1,
            "expiring": 1,
            "earliestDeletionTime": "<now + 24h>",
            "pending": 0,
            "deletedLastRun": 0,
            "deletedTotal": 0,
            "deletedGibTotal": 0,
            "deletedGibLastRun": 0,
            "expiredGib": 100,
            "failedLastRun": 0,
            "skipped": {
                "notCompleted": 0,
                "locked": 0,
                "managedByBackup": 0,
                "managedByDlm": 0,
                "usedByAmi": 1,
                "usedByLaunchTemplate": 0,
                "excluded": 0,
                "retainedByOtherPolicy": 0,
            },
        },
        "ssmAccess": {
            "findings": 1,
            "securityGroupsInScope": 2,
            "worldSshFound": 2,
            "worldSshRevoked": 1,
            "worldSshSplit": 1,
            "allTrafficFromWorldFound": 0,
            "allTrafficFromWorldRevoked": 0,
            "sshFromUnlistedCidrs": 0,
            "wideRangesFromWorld": 1,
            "permissions": [
                {
                    "groupId": "sg-0ssh",
                    "ruleId": "sgr-ssh-world",
                    "permission": "tcp 22 from 0.0.0.0/0",
                    "kind": "WorldSsh",
                    "outcome": "Revoked",
                },
                {
                    "groupId": "sg-1wide",
                    "ruleId": "sgr-wide6",
                    "permission": "tcp 0-65535 from ::/0",
                    "kind": "WorldSsh",
                    "outcome": "Split",
                },
                // As the code reports it today: the rule and range as they were before the
                // split, though this run revoked sgr-wide6; the ports left open are tcp 0-21
                // and 23-65535 in two new rules, which the next run lists (two findings then).
                {
                    "groupId": "sg-1wide",
                    "ruleId": "sgr-wide6",
                    "permission": "tcp 0-65535 from ::/0",
                    "kind": "WideRangeFromWorld",
                    "outcome": "Reported",
                },
            ],
            "permissionsNotListed": 0,
            "instances": {
                "inScope": 1,
                "managed": 0,
                "notOnline": 0,
                "noProfile": 0,
                "profileWithoutSsmPolicy": 0,
                // Attached by this run: SSM lists it once its agent picks the credentials up.
                "notReporting": 1,
                "profileAttachedByUs": 1,
                "attachedLastRun": 1,
            },
            "instancesNotListed": 0,
            "instanceProfileMissing": false,
            "keyPairs": {"total": 0, "unused": 0, "deletedLastRun": 0, "deletedTotal": 0},
            "unusedKeyPairsNotListed": 0,
        },
        "backup": {
            "findings": 0,
            "vaultArn": "arn:aws:backup:eu-west-1:111122223333:backup-vault:prod-vault",
            "planId": "plan-0001",
            // The fake account numbers what it creates in one sequence: vpce-fake0001, then
            // the split's sgr-fake0002 and sgr-fake0003, then these.
            "planVersionId": "version-fake0004",
            "planOwnership": "Managed",
            "selectionId": "sel-fake0005",
            "selectionName": "prod-edefab23",
            "rules": [{"name": "daily", "frequency": "daily", "retentionDays": 35, "compliant": true}],
            "coverage": {"instancesCovered": 0, "volumesCovered": 0, "coveredVolumeGib": 0, "uncoveredCount": 0},
            "lastDriftCorrected": {
                "time": "<now>",
                "versionId": "version-fake0004",
                "differences": ["rule daily: deleteAfterDays 14 → 35"],
            },
            "estimatedMonthlyStorageUsd": "0.00",
        },
        "cost": {
            "monthlyWasteUsd": "5.00",
            "monthlySavingsUsd": "4.80",
            "monthlyCostUsd": "0.00",
            "prices": "built-in list price for eu-west-1 as of 2025",
            "areas": [
                {
                    "area": "gatewayEndpoints",
                    "monthlyWasteUsd": "0.00",
                    "monthlySavingsUsd": "4.80",
                    "monthlyCostUsd": "0.00",
                    "basis": "upper bound: the VPC's NAT gateway traffic over the last 30 days × $0.048/GB NAT gateway data processing (built-in list price for eu-west-1 as of 2025) (S3 and DynamoDB traffic is part of it)",
                },
                {
                    "area": "snapshotRetention",
                    "monthlyWasteUsd": "5.00",
                    "monthlySavingsUsd": "0.00",
                    "monthlyCostUsd": "0.00",
                    "basis": "upper bound: volume size × $0.05/GB-month EBS snapshot storage (built-in list price for eu-west-1 as of 2025); snapshots are incremental, so the storage really billed is smaller",
                },
                {
                    "area": "ssmAccess",
                    "monthlyWasteUsd": "0.00",
                    "monthlySavingsUsd": "0.00",
                    "monthlyCostUsd": "0.00",
                    "basis": "no direct cost: a security practice (security group rules, instance profiles and key pairs are free)",
                },
                {
                    "area": "backup",
                    "monthlyWasteUsd": "0.00",
                    "monthlySavingsUsd": "0.00",
                    "monthlyCostUsd": "0.00",
                    "basis": "a cost, not waste or savings: backup storage up to $0.00/month = 0 GiB of covered EBS volumes × 35 recovery points at most (each rule's runs within its retention) × $0.05/GB-month EBS snapshot storage (built-in list price for eu-west-1 as of 2025), the price of AWS Backup's EBS recovery points (they are EBS snapshots); an upper bound, since only a volume's first recovery point is a full copy and the others store changed blocks",
                },
            ],
        },
    });

    let mut found = Vec::new();
    differences("", &status, &expected, &mut found);
    assert!(found.is_empty(), "the written status differs:\n{}\nwritten: {status:#}", found.join("\n"));
    assert_eq!(status, expected);
}

#[tokio::test]
async fn once_every_area_is_in_sync_a_run_makes_no_request_to_the_api_server() {
    let cloud = snapshot_account().with_vpc(VPC, PRIVATE_TABLE, PUBLIC_TABLE).with_ssm(ssm_drift()).with_backup(backup_drift());
    let mut harness = Harness::new(cloud);
    let mut policy = every_area();
    // The first run changes AWS; the second writes that it changed nothing more (its
    // per-run counts fall to zero).
    for run in ["first", "second"] {
        let served = Arc::new(Mutex::new(None));
        let slot = served.clone();
        harness
            .reconcile(policy.clone(), |mut api| async move {
                let answered = api.answer_whatever_comes().await;
                assert!(answered.iter().any(|r| r.ends_with("/status")), "no status write: {answered:?}");
                *lock(&slot) = Some(api.object.clone());
                api
            })
            .await
            .unwrap_or_else(|e| panic!("{run} reconcile: {e}"));
        policy = lock(&served).take().expect("the served policy");
    }
    let before = policy.status.clone();
    let calls_before = harness.cloud.calls().len();

    // Steady state: no status write, no Event (the harness fails on any request).
    harness.reconcile(policy, |api| async move { api }).await.expect("steady reconcile");
    let steady_calls = harness.cloud.calls().split_off(calls_before);
    assert!(steady_calls.contains(&CloudCall::ObserveGatewayEndpoints), "the steady run looked at AWS: {steady_calls:?}");
    assert!(!steady_calls.iter().any(CloudCall::is_mutating), "{steady_calls:?}");
    assert!(before.is_some_and(|s| s.last_change_time.is_some()));
    let metrics = harness.metrics();
    let finished = metrics
        .lines()
        .find_map(|l| l.strip_prefix(r#"frugal_last_reconcile_timestamp_seconds{policy="team-a"} "#))
        .unwrap_or_else(|| panic!("no freshness gauge:\n{metrics}"));
    let finished: i64 = finished.parse().expect("seconds");
    assert!((Timestamp::now().as_second() - finished).abs() < 60, "{finished}");
}
