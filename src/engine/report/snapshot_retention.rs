//! Status, condition and cost of the snapshotRetention area.

use crate::api::conditions::{self, ConditionUpdate, reason};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::{AreaCost, AreaName, CostPolicyStatus, SkippedSnapshots, SnapshotRetentionStatus, usd};
use crate::engine::areas::SnapshotRetention;
use crate::engine::{AreaKind, AreaOutcome, AreaPlan, CloudError, ErrorKind, Report};
use crate::plan::snapshot_retention::{Protection, SnapshotRetentionChange, SnapshotRetentionPlan};
use crate::pricing::PriceItem;

pub const AREA: &str = AreaName::SnapshotRetention.key();
const MAX_LISTED: usize = 20;

impl Report for SnapshotRetention {
    fn status_of(status: &CostPolicyStatus) -> Option<&Self::Status> {
        status.snapshot_retention.as_ref()
    }

    fn status_slot(status: &mut CostPolicyStatus) -> &mut Option<Self::Status> {
        &mut status.snapshot_retention
    }

    fn findings(status: &Self::Status) -> u32 {
        status.findings
    }

    fn details(plan: &Self::Plan, outcome: &AreaOutcome<Self>, previous: Option<&Self::Status>, _now: &Time) -> (Self::Status, AreaCost) {
        details(plan, outcome, previous)
    }

    fn condition(outcome: &AreaOutcome<Self>, status: Option<&Self::Status>, audit: bool) -> ConditionUpdate {
        condition(outcome, status, audit)
    }

    fn conflict_message(others: &[&str], _outcome: &AreaOutcome<Self>) -> String {
        format!(
            "{} governs the same snapshots as CostPolicy {}: a snapshot is deleted only if every policy governing it expires it",
            Self::NAME,
            others.join(", ")
        )
    }
}

/// What the act step did to the deletions.
#[derive(Default)]
struct Tally {
    deleted: Vec<(String, u32)>,
    /// Refused by AWS, by reason (the snapshot is protected after all, so not waste).
    refused_in_use: u32,
    refused_by_backup: u32,
    refused_locked: u32,
    refused_gib: u64,
    deferred: u32,
    failed: u32,
}

fn tally(outcome: &AreaOutcome<SnapshotRetention>) -> Tally {
    let mut tally = Tally::default();
    for result in &outcome.results {
        let SnapshotRetentionChange::Delete { snapshot_id, volume_size_gib, .. } = &result.change else { continue };
        match &result.outcome {
            Ok(_) => tally.deleted.push((snapshot_id.clone(), *volume_size_gib)),
            Err(CloudError { kind: ErrorKind::Protected(what), .. }) => {
                tally.refused_gib += u64::from(*volume_size_gib);
                match Protection::described_as(what) {
                    Some(Protection::ManagedByBackup) => tally.refused_by_backup += 1,
                    Some(Protection::Locked) => tally.refused_locked += 1,
                    // In use by an AMI, or a refusal the adapter named otherwise: still in use.
                    _ => tally.refused_in_use += 1,
                }
            }
            // Gone already: nothing left to pay for, and nothing this policy deleted.
            Err(CloudError { kind: ErrorKind::NotFound, .. }) => {}
            Err(CloudError { kind: ErrorKind::Throttled, .. }) => tally.deferred += 1,
            Err(_) => tally.failed += 1,
        }
    }
    tally
}

/// The area's condition; `status` is what `details` computed for a planned area.
fn condition(outcome: &AreaOutcome<SnapshotRetention>, status: Option<&SnapshotRetentionStatus>, audit: bool) -> ConditionUpdate {
    let type_ = conditions::SNAPSHOTS_IN_SYNC;
    let (plan, status) = match (&outcome.plan, status) {
        (AreaPlan::Planned(plan), Some(status)) => (plan, status),
        (AreaPlan::ObservationFailed(error), _) => {
            return ConditionUpdate::new(type_, false, reason::OBSERVATION_FAILED, format!("{error}; no snapshot was deleted in this run"));
        }
        (AreaPlan::Planned(_), None) => return ConditionUpdate::new(type_, false, reason::OBSERVATION_FAILED, "no observation"),
    };
    let failures: Vec<String> = outcome.failed_changes().map(|(change, error)| format!("{}: {error}", change.describe())).collect();
    if !failures.is_empty() {
        let shown: Vec<&str> = failures.iter().take(5).map(String::as_str).collect();
        return ConditionUpdate::new(
            type_,
            false,
            reason::ACTION_FAILED,
            format!("{} changes failed: {}", failures.len(), shown.join("; ")),
        );
    }
    if audit && plan.findings() > 0 {
        return ConditionUpdate::new(
            type_,
            false,
            reason::DRIFT_FOUND,
            format!("Audit mode: {} expired snapshots ({} GiB) would be deleted; nothing was changed", plan.findings(), plan.expired_gib),
        );
    }
    if status.expiring + status.pending > 0 {
        let when = status.earliest_deletion_time.as_deref().map(|t| format!("; the first expiring one is due at {t}")).unwrap_or_default();
        return ConditionUpdate::new(
            type_,
            false,
            reason::DELETION_PENDING,
            format!(
                "deleted {}; {} expiring within the grace period, {} over maxDeletionsPerRun or deferred by throttling{when}",
                status.deleted_last_run, status.expiring, status.pending
            ),
        );
    }
    if outcome.results.is_empty() {
        // The plan's words: an expired snapshot a protection keeps is "expired but kept".
        let kept: u32 = plan.protected.values().sum();
        let expired = if kept == 0 { "none expired".to_string() } else { format!("none to delete; {kept} expired but kept") };
        ConditionUpdate::new(type_, true, reason::IN_SYNC, format!("{} snapshots evaluated, {expired}", plan.evaluated))
    } else {
        ConditionUpdate::new(type_, true, reason::RECONCILED, format!("deleted {} expired snapshots", status.deleted_last_run))
    }
}

/// The area's status block and cost, from the run and the previous status (for totals).
fn details(
    plan: &SnapshotRetentionPlan,
    outcome: &AreaOutcome<SnapshotRetention>,
    previous: Option<&SnapshotRetentionStatus>,
) -> (SnapshotRetentionStatus, AreaCost) {
    let tally = tally(outcome);
    let count = |p: Protection| plan.protected.get(&p).copied().unwrap_or(0);
    let skipped = SkippedSnapshots {
        not_completed: count(Protection::NotCompleted),
        locked: count(Protection::Locked) + tally.refused_locked,
        managed_by_backup: count(Protection::ManagedByBackup) + tally.refused_by_backup,
        managed_by_dlm: count(Protection::ManagedByDlm),
        used_by_ami: count(Protection::UsedByAmi) + tally.refused_in_use,
        used_by_launch_template: count(Protection::UsedByLaunchTemplate),
        excluded: count(Protection::Excluded),
        retained_by_other_policy: count(Protection::RetainedByOtherPolicy),
    };
    let attempted_deletes = outcome.results.iter().filter(|r| matches!(r.change, SnapshotRetentionChange::Delete { .. })).count() as u32;
    let not_attempted = (plan.deletions().count() as u32).saturating_sub(attempted_deletes);
    let pending = plan.pending + tally.deferred + not_attempted;
    let deleted_gib: u64 = tally.deleted.iter().map(|(_, gib)| u64::from(*gib)).sum();
    let deleted_total = previous.map(|p| p.deleted_total).unwrap_or(0).saturating_add(tally.deleted.len() as u64);
    let deleted_gib_total = previous.map(|p| p.deleted_gib_total).unwrap_or(0).saturating_add(deleted_gib);
    let remaining_gib = plan.expired_gib.saturating_sub(deleted_gib).saturating_sub(tally.refused_gib);
    let status = SnapshotRetentionStatus {
        findings: plan.expiring + pending + tally.failed,
        evaluated: plan.evaluated,
        retained: plan.retained,
        expiring: plan.expiring,
        earliest_deletion_time: plan.earliest_deletion.clone(),
        pending,
        deleted_last_run: tally.deleted.len() as u32,
        deleted_total,
        deleted_gib_total,
        deleted_gib_last_run: deleted_gib,
        expired_gib: remaining_gib,
        failed_last_run: tally.failed,
        skipped,
        recently_deleted: tally.deleted.iter().take(MAX_LISTED).map(|(id, _)| id.clone()).collect(),
    };
    let cost = AreaCost {
        area: AREA.to_string(),
        monthly_waste_usd: usd(remaining_gib as f64 * plan.prices.usd(PriceItem::SnapshotGbMonth)),
        monthly_savings_usd: usd(deleted_gib_total as f64 * plan.prices.usd(PriceItem::SnapshotGbMonth)),
        monthly_cost_usd: usd(0.0),
        basis: format!(
            "upper bound: volume size × {}; snapshots are incremental, so the storage really billed is smaller",
            plan.prices.basis_of(&[PriceItem::SnapshotGbMonth])
        ),
        measured: None,
    };
    (status, cost)
}
