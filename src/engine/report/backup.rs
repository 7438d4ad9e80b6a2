//! Status, condition and cost of the backup area.

use crate::api::conditions::{self, ConditionUpdate, reason};
use crate::api::{AreaCost, AreaName, BackupCoverageStatus, BackupRuleStatus, BackupStatus, DriftCorrection, usd};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::CostPolicyStatus;
use crate::engine::areas::Backup;
use crate::engine::{AreaKind, AreaOutcome, AreaPlan, Report};
use crate::plan::backup::{BackupChange, BackupPlan, Blocker, PlanOwnership, parse_created_plan};
use crate::pricing::PriceItem;

pub const AREA: &str = AreaName::Backup.key();

impl Report for Backup {
    fn status_of(status: &CostPolicyStatus) -> Option<&Self::Status> {
        status.backup.as_ref()
    }

    fn status_slot(status: &mut CostPolicyStatus) -> &mut Option<Self::Status> {
        &mut status.backup
    }

    fn findings(status: &Self::Status) -> u32 {
        status.findings
    }

    fn details(plan: &Self::Plan, outcome: &AreaOutcome<Self>, previous: Option<&Self::Status>, now: &Time) -> (Self::Status, AreaCost) {
        details(plan, outcome, previous, &now.0.to_string())
    }

    fn condition(outcome: &AreaOutcome<Self>, status: Option<&Self::Status>, audit: bool) -> ConditionUpdate {
        condition(outcome, status, audit)
    }

    fn conflict_message(others: &[&str], _outcome: &AreaOutcome<Self>) -> String {
        format!("{} governs the same backup plan as CostPolicy {}", Self::NAME, others.join(", "))
    }
}

/// The area's condition; `status` is what `details` computed for a planned area.
fn condition(outcome: &AreaOutcome<Backup>, status: Option<&BackupStatus>, audit: bool) -> ConditionUpdate {
    let type_ = conditions::BACKUP_IN_SYNC;
    let plan = match &outcome.plan {
        AreaPlan::ObservationFailed(error) => {
            return ConditionUpdate::new(type_, false, reason::OBSERVATION_FAILED, format!("{error}; nothing was changed in this area"));
        }
        AreaPlan::Planned(plan) => plan,
    };
    let failures: Vec<String> = outcome.failed_changes().map(|(change, error)| format!("{}: {error}", change.describe())).collect();
    if !failures.is_empty() {
        let not_attempted = plan.actions.len() - outcome.results.len();
        return ConditionUpdate::new(
            type_,
            false,
            reason::ACTION_FAILED,
            format!("{}; {not_attempted} later changes wait for the next run", failures.join("; ")),
        );
    }
    match &plan.blocker {
        Some(blocker @ Blocker::VaultMissing(_)) => return ConditionUpdate::new(type_, false, reason::VAULT_MISSING, blocker.describe()),
        Some(blocker @ Blocker::PlanNotOwned(_)) => return ConditionUpdate::new(type_, false, reason::PLAN_NOT_OWNED, blocker.describe()),
        None => {}
    }
    let summary = plan.drift.iter().map(BackupChange::describe).collect::<Vec<_>>().join("; ");
    if audit && !plan.drift.is_empty() {
        return ConditionUpdate::new(type_, false, reason::DRIFT_FOUND, format!("Audit mode: {summary}; nothing was changed"));
    }
    let uncovered = status.map(|s| s.coverage.uncovered_count).unwrap_or(plan.coverage.uncovered_count);
    if uncovered > 0 {
        let listed = status.map(|s| s.coverage.uncovered.join(", ")).unwrap_or_default();
        return ConditionUpdate::new(
            type_,
            false,
            reason::COVERAGE_GAP,
            format!("resources with coverage.requiredTags that the selection does not cover: {uncovered} ({listed})"),
        );
    }
    if !plan.drift.is_empty() {
        return ConditionUpdate::new(type_, true, reason::RECONCILED, format!("fixed: {summary}"));
    }
    ConditionUpdate::new(type_, true, reason::IN_SYNC, format!("vault, plan {} and selection match the spec", plan.selection_name))
}

/// The area's status block and cost, from the run and the previous status.
fn details(plan: &BackupPlan, outcome: &AreaOutcome<Backup>, previous: Option<&BackupStatus>, now: &str) -> (BackupStatus, AreaCost) {
    let mut vault_arn = plan.vault_arn.clone();
    let mut plan_id = plan.plan_id.clone();
    let mut version_id = plan.version_id.clone();
    let mut selection_id = plan.selection_id.clone();
    let mut plan_ownership = plan.plan_ownership;
    let mut last_drift_corrected = previous.and_then(|p| p.last_drift_corrected.clone());
    let mut done = 0usize;
    for result in &outcome.results {
        let Ok(created) = &result.outcome else { continue };
        done += 1;
        match &result.change {
            BackupChange::CreateVault { .. } => vault_arn = created.clone().or(vault_arn),
            BackupChange::CreatePlan { .. } => {
                let (id, version) = created.as_deref().map(parse_created_plan).unzip();
                plan_id = id.map(str::to_string).or(plan_id);
                version_id = version.flatten().map(str::to_string);
                plan_ownership = PlanOwnership::Managed;
            }
            BackupChange::UpdatePlan { differences, .. } => {
                version_id = created.clone().or(version_id);
                last_drift_corrected =
                    Some(DriftCorrection { time: now.to_string(), version_id: created.clone(), differences: differences.clone() });
            }
            BackupChange::CreateSelection { .. } => selection_id = created.clone(),
            BackupChange::DeleteSelection { .. } | BackupChange::DeletePlan { .. } | BackupChange::DeleteVault { .. } => {}
        }
    }
    let all_applied = !plan.actions.is_empty() && done == plan.actions.len();
    let aligned = plan.blocker.is_none() && (plan.drift.is_empty() || all_applied);
    let rules = if aligned { &plan.desired_rules } else { &plan.observed_rules };
    let open = if outcome.results.is_empty() { plan.drift.len() } else { plan.actions.len() - done };
    let findings = open as u32 + u32::from(plan.blocker.is_some()) + plan.coverage.uncovered_count;
    let storage = plan.monthly_storage_usd();
    let status = BackupStatus {
        findings,
        vault_arn,
        plan_id,
        plan_version_id: version_id,
        plan_ownership: format!("{plan_ownership:?}"),
        selection_id,
        selection_name: plan.selection_name.clone(),
        rules: rules
            .iter()
            .map(|r| BackupRuleStatus {
                name: r.name.clone(),
                frequency: r.frequency.clone(),
                retention_days: r.retention_days,
                compliant: r.problems.is_empty(),
                problems: r.problems.clone(),
            })
            .collect(),
        coverage: BackupCoverageStatus {
            instances_covered: plan.coverage.instances_covered,
            volumes_covered: plan.coverage.volumes_covered,
            covered_volume_gib: plan.coverage.covered_gib,
            uncovered_count: plan.coverage.uncovered_count,
            uncovered: plan.coverage.uncovered.clone(),
        },
        last_drift_corrected,
        estimated_monthly_storage_usd: usd(storage),
    };
    let cost = AreaCost {
        area: AREA.to_string(),
        monthly_waste_usd: usd(0.0),
        monthly_savings_usd: usd(0.0),
        monthly_cost_usd: usd(storage),
        basis: format!(
            "a cost, not waste or savings: backup storage up to ${storage:.2}/month = {} GiB of covered EBS volumes × {} recovery points at most (each rule's runs within its retention) × {}, the price of AWS Backup's EBS recovery points (they are EBS snapshots); an upper bound, since only a volume's first recovery point is a full copy and the others store changed blocks",
            plan.coverage.covered_gib,
            plan.max_recovery_points,
            plan.prices.basis_of(&[PriceItem::SnapshotGbMonth])
        ),
        measured: None,
    };
    (status, cost)
}
