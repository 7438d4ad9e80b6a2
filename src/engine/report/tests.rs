use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::api::validate::{GatewayEndpointsDesired, VpcScope, validate};
use crate::api::{CostPolicySpec, GatewayService, Mode, RouteTableScope};
use crate::api::{EndpointOwnership, SnapshotRetentionStatus};
use crate::engine::areas::Areas;
use crate::engine::{ChangeResult, ErrorKind};
use crate::plan::gateway_endpoints::{self, GatewayEndpoint, GatewayEndpointsInventory, Route, RouteTable, Vpc};
use crate::plan::ownership_tags;
use crate::pricing::Prices;

fn time(seconds: i64) -> Time {
    Time(Timestamp::from_second(1_800_000_000 + seconds).expect("valid time"))
}

fn policy(mode: Mode) -> ValidatedPolicy {
    let mut spec: CostPolicySpec = serde_yaml::from_str("aws: {region: eu-west-1}\ngatewayEndpoints: {services: [s3]}\n").expect("fixture");
    spec.mode = mode;
    validate("p", &spec).expect("valid")
}

fn inventory(vpcs: usize, with_endpoint: bool) -> GatewayEndpointsInventory {
    let mut inv = GatewayEndpointsInventory { nat_bytes_30d: Some(BTreeMap::new()), ..Default::default() };
    for n in 0..vpcs {
        let vpc = format!("vpc-{n:04}");
        inv.vpcs.push(Vpc { id: vpc.clone(), tags: Default::default() });
        inv.route_tables.push(RouteTable {
            id: format!("rtb-{n}"),
            vpc_id: vpc.clone(),
            routes: vec![Route { destination_cidr: Some("0.0.0.0/0".into()), nat_gateway_id: Some("nat".into()), state: "active".into() }],
        });
        if with_endpoint {
            inv.endpoints.push(GatewayEndpoint {
                id: format!("vpce-{n}"),
                vpc_id: vpc.clone(),
                service_name: "com.amazonaws.eu-west-1.s3".into(),
                state: "available".into(),
                route_table_ids: BTreeSet::from([format!("rtb-{n}")]),
                tags: ownership_tags("p"),
            });
        }
        inv.nat_bytes_30d.as_mut().expect("map").insert(vpc, 1_073_741_824 * 100);
    }
    inv
}

fn desired() -> GatewayEndpointsDesired {
    GatewayEndpointsDesired {
        services: vec![GatewayService::S3],
        vpcs: VpcScope::Tags(BTreeMap::new()),
        route_tables: RouteTableScope::Private,
    }
}

fn applied(mode: Mode, inv: &GatewayEndpointsInventory, fail: Option<CloudError>) -> AppliedRun {
    let policy = policy(mode);
    let plan = gateway_endpoints::plan("p", "eu-west-1", &desired(), inv, mode == Mode::Enforce);
    let results = plan
        .actions
        .iter()
        .enumerate()
        .map(|(n, change)| ChangeResult {
            change: change.clone(),
            outcome: match &fail {
                Some(error) => Err(error.clone()),
                None => Ok(Some(format!("vpce-new-{n}"))),
            },
        })
        .collect();
    AppliedRun {
        policy,
        now: 1_800_000_000,
        prices: Prices::default(),
        spend: None,
        areas: Areas {
            gateway_endpoints: Some(AreaOutcome { plan: AreaPlan::Planned(plan), results }),
            snapshot_retention: None,
            ssm_access: None,
            backup: None,
            access_keys: None,
            right_sizing: None,
            cloud_watch: None,
        },
        conflicts: Vec::new(),
    }
}

fn condition<'a>(status: &'a CostPolicyStatus, type_: &str) -> (&'a str, &'a str) {
    let c = conditions::find(&status.conditions, type_).unwrap_or_else(|| panic!("{type_} missing"));
    (c.status.as_str(), c.reason.as_str())
}

#[test]
fn enforce_run_that_fixed_everything_is_ready_and_counts_savings() {
    let status = status(&applied(Mode::Enforce, &inventory(2, false), None), None, Some(3), &time(0));
    assert_eq!(status.observed_generation, Some(3));
    assert_eq!(condition(&status, conditions::READY), ("True", reason::RECONCILED));
    assert_eq!(condition(&status, conditions::GATEWAY_ENDPOINTS_IN_SYNC), ("True", reason::RECONCILED));
    assert_eq!(condition(&status, conditions::STALLED), ("False", reason::IDLE));
    assert_eq!(condition(&status, conditions::RECONCILING), ("False", reason::IDLE));
    assert_eq!(status.findings, 0);
    let ge = status.gateway_endpoints.as_ref().expect("area");
    assert_eq!((ge.endpoints_created, ge.route_tables_associated, ge.missing_endpoints), (2, 2, 0));
    assert!(ge.vpcs.iter().all(|v| v.endpoints[0].ownership == EndpointOwnership::Managed && v.endpoints[0].endpoint_id.is_some()));
    let cost = status.cost.expect("cost");
    assert_eq!((cost.monthly_savings_usd.as_str(), cost.monthly_waste_usd.as_str()), ("9.00", "0.00"));
    assert!(status.conditions.iter().all(|c| c.observed_generation == Some(3)));
}

#[test]
fn audit_drift_is_reported_as_waste_with_ready_true() {
    let status = status(&applied(Mode::Audit, &inventory(2, false), None), None, Some(1), &time(0));
    assert_eq!(condition(&status, conditions::READY), ("True", reason::DRIFT_FOUND));
    assert_eq!(condition(&status, conditions::GATEWAY_ENDPOINTS_IN_SYNC), ("False", reason::DRIFT_FOUND));
    assert_eq!(status.findings, 2);
    assert_eq!(status.cost.expect("cost").monthly_waste_usd, "9.00");
}

#[test]
fn failed_change_names_the_operation_and_keeps_the_finding() {
    let error = CloudError::new("CreateVpcEndpoint", ErrorKind::AccessDenied, "UnauthorizedOperation: nope");
    let status = status(&applied(Mode::Enforce, &inventory(1, false), Some(error)), None, Some(1), &time(0));
    assert_eq!(condition(&status, conditions::READY), ("False", reason::AREAS_NOT_IN_SYNC));
    assert_eq!(condition(&status, conditions::RECONCILING), ("True", reason::RETRYING));
    let c = conditions::find(&status.conditions, conditions::GATEWAY_ENDPOINTS_IN_SYNC).expect("area");
    assert_eq!(c.reason, reason::ACTION_FAILED);
    assert!(c.message.contains("CreateVpcEndpoint") && c.message.contains("access_denied"), "{}", c.message);
    assert_eq!(status.findings, 1);
    assert_eq!(status.gateway_endpoints.expect("area").missing_endpoints, 1);
}

#[test]
fn observation_failure_keeps_the_last_known_details_and_says_which_read_failed() {
    let good = status(&applied(Mode::Audit, &inventory(2, false), None), None, Some(1), &time(0));
    let failed = AppliedRun {
        policy: policy(Mode::Audit),
        now: 1_800_000_000,
        prices: Prices::default(),
        spend: None,
        areas: Areas {
            gateway_endpoints: Some(AreaOutcome {
                plan: AreaPlan::ObservationFailed(CloudError::new("DescribeRouteTables", ErrorKind::Throttled, "RequestLimitExceeded")),
                results: vec![],
            }),
            snapshot_retention: None,
            ssm_access: None,
            backup: None,
            access_keys: None,
            right_sizing: None,
            cloud_watch: None,
        },
        conflicts: Vec::new(),
    };
    let status = status(&failed, Some(&good), Some(1), &time(60));
    let c = conditions::find(&status.conditions, conditions::GATEWAY_ENDPOINTS_IN_SYNC).expect("area");
    assert_eq!((c.status.as_str(), c.reason.as_str()), ("False", reason::OBSERVATION_FAILED));
    assert!(c.message.contains("DescribeRouteTables") && c.message.contains("nothing was changed"), "{}", c.message);
    assert_eq!(condition(&status, conditions::READY), ("False", reason::AREAS_NOT_IN_SYNC));
    assert_eq!(status.gateway_endpoints, good.gateway_endpoints);
    assert_eq!(status.findings, good.findings);
}

#[test]
fn last_transition_time_moves_only_when_a_condition_status_changes() {
    let first = status(&applied(Mode::Enforce, &inventory(1, true), None), None, Some(1), &time(0));
    let second = status(&applied(Mode::Enforce, &inventory(1, true), None), Some(&first), Some(2), &time(600));
    let ready = |s: &CostPolicyStatus| conditions::find(&s.conditions, conditions::READY).expect("ready").last_transition_time.clone();
    assert_eq!(ready(&first), ready(&second));
    let error = CloudError::new("ModifyVpcEndpoint", ErrorKind::ServerError, "boom");
    let mut drifted = inventory(1, true);
    drifted.endpoints[0].route_table_ids.clear();
    let third = status(&applied(Mode::Enforce, &drifted, Some(error)), Some(&second), Some(2), &time(1200));
    assert_eq!(ready(&third), time(1200));
}

#[test]
fn a_run_that_finds_everything_as_it_was_gives_the_previous_status_unchanged() {
    let first = status(&applied(Mode::Audit, &inventory(2, false), None), None, Some(1), &time(0));
    assert_eq!(first.last_change_time.as_deref(), Some(time(0).0.to_string().as_str()));
    // Equal, time included: the controller compares and writes nothing.
    let steady = status(&applied(Mode::Audit, &inventory(2, false), None), Some(&first), Some(1), &time(600));
    assert_eq!(steady, first);

    let changed = status(&applied(Mode::Audit, &inventory(3, false), None), Some(&steady), Some(1), &time(1200));
    assert_ne!(changed.findings, first.findings);
    assert_eq!(changed.last_change_time, Some(time(1200).0.to_string()));
    let new_generation = status(&applied(Mode::Audit, &inventory(3, false), None), Some(&changed), Some(2), &time(1800));
    assert_eq!(new_generation.last_change_time, Some(time(1800).0.to_string()), "observedGeneration moved");
}

#[test]
fn a_status_written_without_a_change_time_gets_one_at_the_next_run() {
    let mut before = status(&applied(Mode::Audit, &inventory(1, false), None), None, Some(1), &time(0));
    before.last_change_time = None;
    let next = status(&applied(Mode::Audit, &inventory(1, false), None), Some(&before), Some(1), &time(600));
    assert_eq!(next.last_change_time, Some(time(600).0.to_string()));
}

#[test]
fn a_blocked_policy_reported_again_gives_the_previous_status_unchanged() {
    let mut spec: CostPolicySpec = serde_yaml::from_str("aws: {region: Europe}\ngatewayEndpoints: {services: [s3]}\n").expect("fixture");
    spec.resync_interval = "5s".into();
    let error = validate("p", &spec).expect_err("invalid");
    let first = invalid_spec_status(&error, None, Some(2), &time(10));
    assert_eq!(invalid_spec_status(&error, Some(&first), Some(2), &time(70)), first);
    assert_eq!(
        role_not_allowed_status("arn:aws:iam::1:role/x", Some(&first), Some(2), &time(90)).last_change_time,
        Some(time(90).0.to_string())
    );
}

#[test]
fn invalid_spec_is_stalled_and_keeps_the_rest_of_the_status() {
    let good = status(&applied(Mode::Enforce, &inventory(1, true), None), None, Some(1), &time(0));
    let mut spec: CostPolicySpec = serde_yaml::from_str("aws: {region: Europe}\ngatewayEndpoints: {services: [s3]}\n").expect("fixture");
    spec.resync_interval = "5s".into();
    let error = validate("p", &spec).expect_err("invalid");
    let status = invalid_spec_status(&error, Some(&good), Some(2), &time(10));
    assert_eq!(condition(&status, conditions::STALLED), ("True", reason::INVALID_SPEC));
    assert_eq!(condition(&status, conditions::READY), ("False", reason::INVALID_SPEC));
    let message = &conditions::find(&status.conditions, conditions::STALLED).expect("stalled").message;
    assert!(message.contains("spec.aws.region") && message.contains("spec.resyncInterval"), "{message}");
    assert_eq!(status.observed_generation, Some(2));
    assert_eq!(status.gateway_endpoints, good.gateway_endpoints);
}

#[test]
fn vpc_list_is_capped_and_the_rest_counted() {
    let status = status(&applied(Mode::Audit, &inventory(MAX_LISTED_VPCS + 7, true), None), None, None, &time(0));
    let ge = status.gateway_endpoints.expect("area");
    assert_eq!((ge.vpcs.len(), ge.vpcs_not_listed, ge.vpcs_in_scope), (MAX_LISTED_VPCS, 7, 57));
}

#[test]
fn unknown_nat_metrics_say_so_in_the_cost_basis() {
    let mut inv = inventory(1, false);
    inv.nat_bytes_30d = None;
    let status = status(&applied(Mode::Audit, &inv, None), None, None, &time(0));
    let cost = status.cost.expect("cost");
    assert!(cost.areas[0].basis.contains("could not be read"), "{}", cost.areas[0].basis);
    assert_eq!(cost.monthly_waste_usd, "0.00");
}

mod snapshot_area {
    use std::time::Duration;

    use super::*;
    use crate::api::validate::SnapshotRetentionDesired;
    use crate::plan::snapshot_retention::Protection;
    use crate::plan::snapshot_retention::{self, Snapshot, SnapshotRetentionChange, SnapshotRetentionInventory};

    const NOW: i64 = 1_800_000_000;

    fn desired(grace: u64) -> SnapshotRetentionDesired {
        SnapshotRetentionDesired {
            max_age_days: Some(30),
            keep_latest_per_volume: None,
            selector: BTreeMap::new(),
            exclude: BTreeMap::new(),
            max_deletions_per_run: 2,
            grace_period: Duration::from_secs(grace),
        }
    }

    fn old(n: usize) -> SnapshotRetentionInventory {
        let snapshots = (0..n)
            .map(|i| Snapshot {
                id: format!("snap-{i}"),
                volume_id: Some(format!("vol-{i}")),
                volume_size_gib: 100,
                start_time: NOW - 40 * 86_400 - i as i64,
                state: "completed".into(),
                description: String::new(),
                tags: Default::default(),
            })
            .collect::<Vec<_>>();
        SnapshotRetentionInventory { snapshots: snapshots.into(), ..Default::default() }
    }

    fn run(
        mode: Mode,
        grace: u64,
        n: usize,
        outcome: impl Fn(&SnapshotRetentionChange) -> Result<Option<String>, CloudError>,
    ) -> AppliedRun {
        let mut spec: CostPolicySpec =
            serde_yaml::from_str("aws: {region: eu-west-1}\nsnapshotRetention: {maxAgeDays: 30, maxDeletionsPerRun: 2}\n")
                .expect("fixture");
        spec.mode = mode;
        let policy = validate("p", &spec).expect("valid");
        let plan = snapshot_retention::plan(&desired(grace), &old(n), NOW, mode == Mode::Enforce);
        let results = plan.actions.iter().map(|c| ChangeResult { change: c.clone(), outcome: outcome(c) }).collect();
        AppliedRun {
            policy,
            now: NOW,
            prices: Prices::default(),
            spend: None,
            areas: Areas {
                gateway_endpoints: None,
                snapshot_retention: Some(AreaOutcome { plan: AreaPlan::Planned(plan), results }),
                ssm_access: None,
                backup: None,
                access_keys: None,
                right_sizing: None,
                cloud_watch: None,
            },
            conflicts: Vec::new(),
        }
    }

    #[test]
    fn an_expired_snapshot_a_protection_keeps_is_called_expired_but_kept_as_in_the_plan() {
        let mut inventory = old(1);
        let mut snapshot = inventory.snapshots[0].clone();
        snapshot.tags.insert("keep".to_string(), "true".to_string());
        inventory.snapshots = vec![snapshot].into();
        let mut excluding = desired(0);
        excluding.exclude.insert("keep".to_string(), "true".to_string());
        let plan = snapshot_retention::plan(&excluding, &inventory, NOW, true);
        let mut applied = run(Mode::Enforce, 0, 0, |_| Ok(None));
        applied.areas.snapshot_retention = Some(AreaOutcome { plan: AreaPlan::Planned(plan), results: Vec::new() });
        let s = status(&applied, None, Some(1), &time(0));
        let in_sync = s.conditions.iter().find(|c| c.type_ == conditions::SNAPSHOTS_IN_SYNC).expect("condition");
        assert_eq!(in_sync.message, "1 snapshots evaluated, none to delete; 1 expired but kept");
    }

    #[test]
    fn tagging_within_the_grace_period_is_pending_not_a_failure() {
        let s = status(&run(Mode::Enforce, 86_400, 3, |_| Ok(None)), None, Some(1), &time(0));
        assert_eq!(condition(&s, conditions::SNAPSHOTS_IN_SYNC), ("False", reason::DELETION_PENDING));
        assert_eq!(condition(&s, conditions::READY), ("True", reason::DELETION_PENDING));
        let snaps = s.snapshot_retention.expect("area");
        assert_eq!((snaps.expiring, snaps.deleted_last_run, snaps.findings), (3, 0, 3));
        assert!(snaps.earliest_deletion_time.is_some());
    }

    #[test]
    fn deletions_accumulate_totals_and_savings_and_the_cap_leaves_the_rest_pending() {
        let previous = CostPolicyStatus {
            snapshot_retention: Some(SnapshotRetentionStatus { deleted_total: 10, deleted_gib_total: 1000, ..Default::default() }),
            ..Default::default()
        };
        let s = status(&run(Mode::Enforce, 0, 3, |_| Ok(None)), Some(&previous), Some(1), &time(0));
        let snaps = s.snapshot_retention.as_ref().expect("area");
        assert_eq!((snaps.deleted_last_run, snaps.deleted_total, snaps.deleted_gib_total, snaps.pending), (2, 12, 1200, 1));
        assert_eq!(snaps.recently_deleted, ["snap-2", "snap-1"]);
        assert_eq!(condition(&s, conditions::SNAPSHOTS_IN_SYNC), ("False", reason::DELETION_PENDING));
        let cost = s.cost.expect("cost");
        assert_eq!(cost.monthly_savings_usd, "60.00");
        assert_eq!(cost.monthly_waste_usd, "5.00");
    }

    #[test]
    fn a_delete_aws_refuses_counts_as_protected_not_failed() {
        let refuse = |c: &SnapshotRetentionChange| match c {
            SnapshotRetentionChange::Delete { snapshot_id, .. } if snapshot_id == "snap-1" => Err(CloudError::new(
                "DeleteSnapshot",
                ErrorKind::Protected(Protection::UsedByAmi.describe()),
                "InvalidSnapshot.InUse: in use by ami-1",
            )),
            _ => Ok(None),
        };
        let applied = run(Mode::Enforce, 0, 2, refuse);
        assert!(applied.succeeded());
        let s = status(&applied, None, Some(1), &time(0));
        let snaps = s.snapshot_retention.expect("area");
        assert_eq!((snaps.deleted_last_run, snaps.skipped.used_by_ami, snaps.failed_last_run), (1, 1, 0));
    }

    #[test]
    fn a_refused_delete_is_counted_under_its_own_reason_and_is_not_waste() {
        let refuse = |c: &SnapshotRetentionChange| match c {
            SnapshotRetentionChange::Delete { snapshot_id, .. } if snapshot_id == "snap-0" => Err(CloudError::new(
                "DeleteSnapshot",
                ErrorKind::Protected(Protection::Locked.describe()),
                "SnapshotLocked: snap-0 is locked",
            )),
            SnapshotRetentionChange::Delete { snapshot_id, .. } if snapshot_id == "snap-1" => Err(CloudError::new(
                "DeleteSnapshot",
                ErrorKind::Protected(Protection::ManagedByBackup.describe()),
                "InvalidParameterValue: This snapshot is managed by the AWS Backup service and cannot be deleted via EC2 APIs.",
            )),
            _ => Ok(None),
        };
        let applied = run(Mode::Enforce, 0, 2, refuse);
        let s = status(&applied, None, Some(1), &time(0));
        let snaps = s.snapshot_retention.as_ref().expect("area");
        assert_eq!((snaps.skipped.locked, snaps.skipped.managed_by_backup, snaps.skipped.used_by_ami), (1, 1, 0));
        let cost = s.cost.as_ref().and_then(|c| c.areas.iter().find(|a| a.area == "snapshotRetention")).expect("cost");
        assert_eq!(cost.monthly_waste_usd, "0.00", "what AWS refuses to delete is protected, not waste");
    }

    #[test]
    fn throttling_defers_without_failing_and_other_errors_fail() {
        let throttled = run(Mode::Enforce, 0, 2, |_| Err(CloudError::new("DeleteSnapshot", ErrorKind::Throttled, "RequestLimitExceeded")));
        assert!(throttled.succeeded());
        let s = status(&throttled, None, Some(1), &time(0));
        assert_eq!(s.snapshot_retention.as_ref().expect("area").pending, 2, "the throttled one and the one never attempted");
        assert_eq!(condition(&s, conditions::READY).0, "True");

        let denied = run(Mode::Enforce, 0, 1, |_| Err(CloudError::new("DeleteSnapshot", ErrorKind::AccessDenied, "UnauthorizedOperation")));
        assert!(!denied.succeeded());
        let s = status(&denied, None, Some(1), &time(0));
        assert_eq!(condition(&s, conditions::SNAPSHOTS_IN_SYNC), ("False", reason::ACTION_FAILED));
        assert_eq!(condition(&s, conditions::READY), ("False", reason::AREAS_NOT_IN_SYNC));
        assert_eq!(s.snapshot_retention.expect("area").failed_last_run, 1);
    }

    #[test]
    fn audit_reports_expired_snapshots_as_waste() {
        let s = status(&run(Mode::Audit, 0, 3, |_| Ok(None)), None, Some(1), &time(0));
        assert_eq!(condition(&s, conditions::SNAPSHOTS_IN_SYNC), ("False", reason::DRIFT_FOUND));
        assert_eq!(s.cost.expect("cost").monthly_waste_usd, "15.00");
    }
}

#[test]
fn ready_false_names_every_area_that_is_not_in_sync_with_its_reason() {
    let snapshots = ConditionUpdate::new(conditions::SNAPSHOTS_IN_SYNC, false, reason::DELETION_PENDING, "10 expiring");
    let backup = ConditionUpdate::new(conditions::BACKUP_IN_SYNC, false, reason::COVERAGE_GAP, "1 uncovered");
    let gateway = ConditionUpdate::new(conditions::GATEWAY_ENDPOINTS_IN_SYNC, true, reason::IN_SYNC, "ok");
    let ready = ready_condition(&[&gateway, &snapshots, &backup], false, 0);
    assert!(!ready.status);
    assert_eq!(ready.reason, reason::AREAS_NOT_IN_SYNC);
    assert_eq!(ready.message, "not in sync: SnapshotsInSync (DeletionPending), BackupInSync (CoverageGap)");
    // Waiting for a grace period alone keeps Ready True, as before.
    let ready = ready_condition(&[&gateway, &snapshots], false, 0);
    assert!(ready.status && ready.reason == reason::DELETION_PENDING, "{ready:?}");
}
