//! Observe, plan and act for one policy.

use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;

use crate::api::validate::ValidatedPolicy;
use crate::plan::backup::{self as backup_plan, BackupChange, BackupPlan};
use crate::plan::conflicts::{Conflict, Peers};
use crate::plan::gateway_endpoints::{self, GatewayEndpointsChange, GatewayEndpointsPlan};
use crate::plan::snapshot_retention::{self, SnapshotRetentionChange, SnapshotRetentionPlan};
use crate::plan::ssm_access::{self, SsmAccessChange, SsmAccessPlan};

use super::cloud::{Cloud, CloudError, ErrorKind};

mod backup;

/// An area's plan, or why there is none: a failed read abandons the area for this run
/// (safety rule 7) instead of planning on partial data.
#[derive(Clone, Debug, PartialEq)]
pub enum AreaPlan<P> {
    Planned(P),
    ObservationFailed(CloudError),
}

/// Plans of every enabled area, not yet executed.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedRun {
    pub policy: ValidatedPolicy,
    /// When the run observed the account, Unix seconds.
    pub now: i64,
    pub gateway_endpoints: Option<AreaPlan<GatewayEndpointsPlan>>,
    pub snapshots: Option<AreaPlan<SnapshotRetentionPlan>>,
    pub ssm_access: Option<AreaPlan<SsmAccessPlan>>,
    pub backup: Option<AreaPlan<BackupPlan>>,
    /// Policies governing the same snapshots or VPCs as this one.
    pub conflicts: Vec<Conflict>,
}

/// The result of one executed change.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeResult<C> {
    pub change: C,
    /// The id of what was created, if anything.
    pub outcome: Result<Option<String>, CloudError>,
}

/// An area after the act step.
#[derive(Clone, Debug, PartialEq)]
pub struct AreaOutcome<P, C> {
    pub plan: AreaPlan<P>,
    pub results: Vec<ChangeResult<C>>,
}

/// How an area judges the errors of its changes.
pub trait Change {
    /// True when `error` means the change failed (rather than, say, AWS protecting the
    /// resource, which the area reports as a protection).
    fn is_failure(&self, error: &CloudError) -> bool;
}

impl Change for GatewayEndpointsChange {
    fn is_failure(&self, _error: &CloudError) -> bool {
        true
    }
}

impl Change for SnapshotRetentionChange {
    /// A refused delete (in use, made by AWS Backup, locked) is a protection, a vanished
    /// snapshot is already gone, and throttling waits for the next run: none is a failure.
    fn is_failure(&self, error: &CloudError) -> bool {
        !matches!(error.kind, ErrorKind::Protected(_) | ErrorKind::Throttled | ErrorKind::NotFound)
    }
}

impl Change for SsmAccessChange {
    /// A rule or key pair that is already gone is what the change wanted.
    fn is_failure(&self, error: &CloudError) -> bool {
        let gone = error.kind == ErrorKind::NotFound
            && matches!(self, SsmAccessChange::RevokeIngress { .. } | SsmAccessChange::DeleteKeyPair { .. });
        !gone
    }
}

impl Change for BackupChange {
    fn is_failure(&self, _error: &CloudError) -> bool {
        true
    }
}

impl<P, C: Change> AreaOutcome<P, C> {
    /// Changes that failed.
    pub fn failed_changes(&self) -> impl Iterator<Item = (&C, &CloudError)> {
        self.results.iter().filter_map(|r| r.outcome.as_ref().err().map(|e| (&r.change, e))).filter(|(change, e)| change.is_failure(e))
    }

    /// True when the area was observed and no planned change failed.
    pub fn succeeded(&self) -> bool {
        matches!(self.plan, AreaPlan::Planned(_)) && self.failed_changes().next().is_none()
    }

    fn first_error(&self) -> Option<&CloudError> {
        match &self.plan {
            AreaPlan::ObservationFailed(e) => Some(e),
            AreaPlan::Planned(_) => self.failed_changes().next().map(|(_, e)| e),
        }
    }
}

/// What a run observed, planned and did; the only input of `report`.
#[derive(Clone, Debug, PartialEq)]
pub struct AppliedRun {
    pub policy: ValidatedPolicy,
    pub now: i64,
    pub gateway_endpoints: Option<AreaOutcome<GatewayEndpointsPlan, GatewayEndpointsChange>>,
    pub snapshots: Option<AreaOutcome<SnapshotRetentionPlan, SnapshotRetentionChange>>,
    pub ssm_access: Option<AreaOutcome<SsmAccessPlan, SsmAccessChange>>,
    pub backup: Option<AreaOutcome<BackupPlan, BackupChange>>,
    /// Policies governing the same snapshots or VPCs as this one.
    pub conflicts: Vec<Conflict>,
}

impl AppliedRun {
    /// True when every enabled area was observed and all its changes succeeded.
    pub fn succeeded(&self) -> bool {
        self.first_error().is_none()
    }

    /// The first failure, for error propagation and backoff.
    pub fn first_error(&self) -> Option<&CloudError> {
        self.gateway_endpoints
            .as_ref()
            .and_then(AreaOutcome::first_error)
            .or_else(|| self.snapshots.as_ref().and_then(AreaOutcome::first_error))
            .or_else(|| self.ssm_access.as_ref().and_then(AreaOutcome::first_error))
            .or_else(|| self.backup.as_ref().and_then(AreaOutcome::first_error))
    }
}

/// Reads the account and plans every enabled area. `now` is Unix seconds.
pub async fn observe_and_plan(cloud: &dyn Cloud, policy: ValidatedPolicy, now: i64) -> PlannedRun {
    observe_and_plan_with_peers(cloud, policy, Peers::default(), now).await
}

/// The same, next to the policies this one conflicts with: the stricter safety wins.
pub async fn observe_and_plan_with_peers(cloud: &dyn Cloud, policy: ValidatedPolicy, peers: Peers, now: i64) -> PlannedRun {
    let enforce = !policy.is_audit();
    let gateway_endpoints = match &policy.gateway_endpoints {
        None => None,
        Some(desired) => Some(match cloud.observe_gateway_endpoints(desired).await {
            Ok(inventory) => AreaPlan::Planned(gateway_endpoints::plan_with_peers(
                &policy.name,
                &policy.aws.region,
                desired,
                &peers.gateway_yield_to,
                &inventory,
                enforce,
            )),
            Err(error) => AreaPlan::ObservationFailed(error),
        }),
    };
    let snapshots = match &policy.snapshot_retention {
        None => None,
        Some(desired) => Some(match cloud.observe_snapshots(desired).await {
            Ok(inventory) => {
                AreaPlan::Planned(snapshot_retention::plan_with_peers(desired, &peers.snapshot_retention, &inventory, now, enforce))
            }
            Err(error) => AreaPlan::ObservationFailed(error),
        }),
    };
    let ssm_access = match &policy.ssm_access {
        None => None,
        Some(desired) => Some(match cloud.observe_ssm_access(desired).await {
            Ok(inventory) => AreaPlan::Planned(ssm_access::plan(&policy.name, desired, &inventory, enforce)),
            Err(error) => AreaPlan::ObservationFailed(error),
        }),
    };
    let backup = match &policy.backup {
        None => None,
        Some(desired) => Some(match cloud.observe_backup(&policy.name, desired).await {
            Ok(inventory) => AreaPlan::Planned(backup_plan::plan(&policy.name, desired, &inventory, enforce)),
            Err(error) => AreaPlan::ObservationFailed(error),
        }),
    };
    PlannedRun { policy, now, gateway_endpoints, snapshots, ssm_access, backup, conflicts: peers.conflicts }
}

impl PlannedRun {
    /// Drift over all areas: the changes, snapshots waiting for their grace period, and a
    /// backup blocker only a person can remove.
    pub fn drift_count(&self) -> usize {
        self.count_per_area(|s| s.findings() as usize, |b| b.drift.len() + usize::from(b.blocker.is_some()))
    }

    /// The changes the plan holds (what Enforce mode would make this run).
    pub fn change_count(&self) -> usize {
        self.count_per_area(|s| s.drift.len(), |b| b.drift.len())
    }

    fn count_per_area(&self, snapshots: impl Fn(&SnapshotRetentionPlan) -> usize, backup: impl Fn(&BackupPlan) -> usize) -> usize {
        let gateway = match &self.gateway_endpoints {
            Some(AreaPlan::Planned(p)) => p.drift.len(),
            _ => 0,
        };
        let snapshots = match &self.snapshots {
            Some(AreaPlan::Planned(p)) => snapshots(p),
            _ => 0,
        };
        let ssm = match &self.ssm_access {
            Some(AreaPlan::Planned(p)) => p.drift.len(),
            _ => 0,
        };
        let backup = match &self.backup {
            Some(AreaPlan::Planned(p)) => backup(p),
            _ => 0,
        };
        gateway + snapshots + ssm + backup
    }

    /// Turns the plan into a run that made no change (for `frugal plan`).
    pub fn without_acting(self) -> AppliedRun {
        AppliedRun {
            policy: self.policy,
            now: self.now,
            gateway_endpoints: self.gateway_endpoints.map(|plan| AreaOutcome { plan, results: Vec::new() }),
            snapshots: self.snapshots.map(|plan| AreaOutcome { plan, results: Vec::new() }),
            ssm_access: self.ssm_access.map(|plan| AreaOutcome { plan, results: Vec::new() }),
            backup: self.backup.map(|plan| AreaOutcome { plan, results: Vec::new() }),
            conflicts: self.conflicts,
        }
    }
}

/// Executes the planned actions. In Audit mode the plans hold no actions, so nothing runs.
pub async fn act(cloud: &dyn Cloud, planned: PlannedRun) -> AppliedRun {
    let policy = &planned.policy.name;
    let mut gateway_results = Vec::new();
    if let Some(AreaPlan::Planned(plan)) = &planned.gateway_endpoints {
        for change in &plan.actions {
            let outcome = cloud.apply_gateway_change(change).await;
            if let Err(error) = &outcome {
                tracing::warn!(%policy, change = %change.describe(), %error, "change failed");
            }
            gateway_results.push(ChangeResult { change: change.clone(), outcome });
        }
    }
    let snapshot_results = match &planned.snapshots {
        Some(AreaPlan::Planned(plan)) => act_on_snapshots(cloud, policy, &plan.actions).await,
        _ => Vec::new(),
    };
    let mut ssm_results = Vec::new();
    if let Some(AreaPlan::Planned(plan)) = &planned.ssm_access {
        for change in &plan.actions {
            let outcome = cloud.apply_ssm_change(policy, change).await;
            if let Err(error) = &outcome {
                tracing::warn!(%policy, change = %change.describe(), %error, "ssmAccess change failed");
            }
            ssm_results.push(ChangeResult { change: change.clone(), outcome });
        }
    }
    let backup_results = match &planned.backup {
        Some(plan) => backup::act(cloud, policy, plan).await,
        None => Vec::new(),
    };
    AppliedRun {
        policy: planned.policy,
        now: planned.now,
        gateway_endpoints: planned.gateway_endpoints.map(|plan| AreaOutcome { plan, results: gateway_results }),
        snapshots: planned.snapshots.map(|plan| AreaOutcome { plan, results: snapshot_results }),
        ssm_access: planned.ssm_access.map(|plan| AreaOutcome { plan, results: ssm_results }),
        backup: planned.backup.map(|plan| AreaOutcome { plan, results: backup_results }),
        conflicts: planned.conflicts,
    }
}

/// Deletions in flight at once: AWS answers each in tens of milliseconds, so one at a time
/// leaves the pacer's burst unused; the pacer still decides the rate.
const CONCURRENT_SNAPSHOT_DELETES: usize = 8;

/// The snapshot changes: tags first, one by one and in order, then the deletions, several at
/// a time. An untagged snapshot is never deleted (safety rule 3), so a failed tag call stops
/// every deletion (grace 0s tags and deletes in one run); a deletion still throttled after
/// the SDK's retries stops the ones not yet started, which wait for the next run.
async fn act_on_snapshots(
    cloud: &dyn Cloud,
    policy: &str,
    actions: &[SnapshotRetentionChange],
) -> Vec<ChangeResult<SnapshotRetentionChange>> {
    let mut results = Vec::new();
    let (deletes, tags): (Vec<&SnapshotRetentionChange>, Vec<&SnapshotRetentionChange>) =
        actions.iter().partition(|c| matches!(c, SnapshotRetentionChange::Delete { .. }));
    for change in tags {
        let outcome = cloud.apply_snapshot_change(change).await.map(|()| None);
        let failed = outcome.is_err();
        if let Err(error) = &outcome {
            tracing::warn!(%policy, change = %change.describe(), %error, "snapshot change not made");
        }
        results.push(ChangeResult { change: change.clone(), outcome });
        if failed {
            return results;
        }
    }
    let throttled = AtomicBool::new(false);
    // Owned changes, and futures made by an iterator: a stream closure over borrowed items
    // would not be Send for every lifetime the controller's executor asks for.
    let deletions = deletes.into_iter().cloned().map(|change| delete_snapshot(cloud, policy, &throttled, change));
    let deleted: Vec<ChangeResult<SnapshotRetentionChange>> =
        futures::stream::iter(deletions).buffered(CONCURRENT_SNAPSHOT_DELETES).filter_map(std::future::ready).collect().await;
    results.extend(deleted);
    results
}

/// One deletion, unless an earlier one was throttled (then None: not attempted).
async fn delete_snapshot(
    cloud: &dyn Cloud,
    policy: &str,
    throttled: &AtomicBool,
    change: SnapshotRetentionChange,
) -> Option<ChangeResult<SnapshotRetentionChange>> {
    if throttled.load(Ordering::SeqCst) {
        return None;
    }
    let outcome = cloud.apply_snapshot_change(&change).await.map(|()| None);
    if let Err(error) = &outcome {
        if error.kind == ErrorKind::Throttled {
            throttled.store(true, Ordering::SeqCst);
        }
        tracing::warn!(%policy, change = %change.describe(), %error, "snapshot change not made");
    }
    Some(ChangeResult { change, outcome })
}

/// Removes what the policy created (deletionPolicy Delete). Returns what was deleted, each
/// named with its kind (`gateway endpoint vpce-…`, `backup plan …`).
/// Audit mode deletes nothing (safety rule 1).
pub async fn cleanup(cloud: &dyn Cloud, policy: &ValidatedPolicy) -> Result<Vec<String>, CloudError> {
    if policy.is_audit() {
        return Ok(Vec::new());
    }
    let owned = cloud.owned_gateway_endpoints(&policy.name).await?;
    let ids = gateway_endpoints::plan_cleanup(&policy.name, &owned);
    if !ids.is_empty() {
        match cloud.delete_gateway_endpoints(&ids).await {
            // Someone deleted them since we listed them: what cleanup wanted.
            Err(error) if error.kind == ErrorKind::NotFound => {}
            other => other?,
        }
    }
    let mut deleted: Vec<String> = ids.iter().map(|id| format!("gateway endpoint {id}")).collect();
    deleted.extend(backup::cleanup(cloud, policy).await?);
    Ok(deleted)
}
