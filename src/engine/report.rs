//! The report step: status computed from what was applied. Pure.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::conditions::{self, ConditionUpdate, reason};
use crate::api::validate::{InvalidSpec, ValidatedPolicy};
use crate::api::{AreaCost, AreaName, CostPolicyStatus, CostStatus, MeasuredSpend, usd};
use crate::pricing::spend::Spend;

use super::area::{Area, AreaOutcome, AreaPlan};
use super::areas::{Applied, Visit, price_items, prices_of};
use super::cloud::CloudError;
use super::run::AppliedRun;

mod access_keys;
mod backup;
mod cloud_watch;
mod gateway_endpoints;
mod right_sizing;
mod snapshot_retention;
mod ssm_access;

pub use gateway_endpoints::MAX_LISTED_VPCS;

/// Status after a run.
pub fn status(applied: &AppliedRun, previous: Option<&CostPolicyStatus>, generation: Option<i64>, now: &Time) -> CostPolicyStatus {
    let audit = applied.policy.is_audit();
    let mut areas = AreaReports {
        applied,
        previous,
        now,
        audit,
        updates: Vec::new(),
        findings: 0,
        costs: Vec::new(),
        status: CostPolicyStatus::default(),
    };
    applied.areas.each(&mut areas);
    let AreaReports { updates, findings, costs, status, .. } = areas;

    let area_conditions: Vec<&ConditionUpdate> = updates.iter().collect();
    let ready = ready_condition(&area_conditions, audit, findings);
    let failed = !applied.succeeded();
    let mut all = vec![ready];
    all.push(ConditionUpdate::new(
        conditions::RECONCILING,
        failed,
        if failed { reason::RETRYING } else { reason::IDLE },
        if failed { "the last run failed and will be retried" } else { "" },
    ));
    all.push(ConditionUpdate::new(conditions::STALLED, false, reason::IDLE, ""));
    all.extend(updates);

    let status = CostPolicyStatus {
        observed_generation: generation,
        conditions: conditions::merge(previous.map(|p| p.conditions.as_slice()).unwrap_or_default(), all, generation, now),
        findings,
        cost: Some(total_cost(costs, applied)),
        ..status
    };
    stamped(status, previous, now)
}

/// `status` with its `lastChangeTime`: the previous one's when nothing else changed (the
/// status then equals the previous one, and the controller writes nothing), else `now`.
fn stamped(mut status: CostPolicyStatus, previous: Option<&CostPolicyStatus>, now: &Time) -> CostPolicyStatus {
    status.last_change_time = previous.and_then(|p| p.last_change_time.clone());
    if status.last_change_time.is_none() || previous != Some(&status) {
        status.last_change_time = Some(now.0.to_string());
    }
    status
}

/// Each area's condition, status block, findings and cost.
struct AreaReports<'r> {
    applied: &'r AppliedRun,
    previous: Option<&'r CostPolicyStatus>,
    now: &'r Time,
    audit: bool,
    updates: Vec<ConditionUpdate>,
    findings: u32,
    costs: Vec<AreaCost>,
    /// Holds only the areas' blocks.
    status: CostPolicyStatus,
}

impl Visit<'_, Applied> for AreaReports<'_> {
    fn visit<A: Area>(&mut self, outcome: &AreaOutcome<A>) {
        let previous = self.previous.and_then(A::status_of);
        let (block, mut condition) = match &outcome.plan {
            AreaPlan::Planned(plan) => {
                let (block, cost) = A::details(plan, outcome, previous, self.now);
                self.costs.push(cost);
                let condition = A::condition(outcome, Some(&block), self.audit);
                (Some(block), condition)
            }
            AreaPlan::ObservationFailed(_) => {
                // Unknown now: keep what the last successful observation reported.
                let kept_cost = self.previous.and_then(|p| p.cost.as_ref()).and_then(|c| c.areas.iter().find(|a| a.area == A::NAME.key()));
                self.costs.extend(kept_cost.cloned());
                (previous.cloned(), A::condition(outcome, None, self.audit))
            }
        };
        self.findings += block.as_ref().map(A::findings).unwrap_or(0);
        *A::status_slot(&mut self.status) = block;
        if let Some(message) = conflict_message(self.applied, outcome) {
            report_conflict(&mut condition, message);
        }
        self.updates.push(condition);
    }
}

/// Status of a policy whose spec is invalid: Stalled, nothing else changes.
pub fn invalid_spec_status(
    error: &InvalidSpec,
    previous: Option<&CostPolicyStatus>,
    generation: Option<i64>,
    now: &Time,
) -> CostPolicyStatus {
    let message = format!("invalid spec, nothing in AWS was touched: {error}");
    blocked_status(
        previous,
        generation,
        now,
        vec![
            ConditionUpdate::new(conditions::READY, false, reason::INVALID_SPEC, message.clone()),
            ConditionUpdate::new(conditions::RECONCILING, false, reason::INVALID_SPEC, "waiting for the spec to change"),
            ConditionUpdate::new(conditions::STALLED, true, reason::INVALID_SPEC, message),
        ],
    )
}

/// Status of a policy whose aws.roleArn the operator may not assume: Stalled, no AWS call.
pub fn role_not_allowed_status(
    role_arn: &str,
    previous: Option<&CostPolicyStatus>,
    generation: Option<i64>,
    now: &Time,
) -> CostPolicyStatus {
    let message = format!("aws.roleArn {role_arn} is not allowed by the operator's --allowed-role-arns; nothing in AWS was touched");
    blocked_status(
        previous,
        generation,
        now,
        vec![
            ConditionUpdate::new(conditions::READY, false, reason::ROLE_NOT_ALLOWED, message.clone()),
            ConditionUpdate::new(
                conditions::RECONCILING,
                false,
                reason::ROLE_NOT_ALLOWED,
                "waiting for the spec or the operator's configuration to change",
            ),
            ConditionUpdate::new(conditions::STALLED, true, reason::ROLE_NOT_ALLOWED, message),
        ],
    )
}

/// Status when the account could not be reached (credentials, AssumeRole): retried.
pub fn access_failed_status(
    policy: &ValidatedPolicy,
    error: &CloudError,
    previous: Option<&CostPolicyStatus>,
    generation: Option<i64>,
    now: &Time,
) -> CostPolicyStatus {
    let message = format!("cannot reach account for region {}: {error}", policy.aws.region);
    blocked_status(
        previous,
        generation,
        now,
        vec![
            ConditionUpdate::new(conditions::READY, false, reason::AWS_ACCESS_FAILED, message),
            ConditionUpdate::new(conditions::RECONCILING, true, reason::RETRYING, "the last run failed and will be retried"),
            ConditionUpdate::new(conditions::STALLED, false, reason::IDLE, ""),
        ],
    )
}

fn blocked_status(
    previous: Option<&CostPolicyStatus>,
    generation: Option<i64>,
    now: &Time,
    updates: Vec<ConditionUpdate>,
) -> CostPolicyStatus {
    let mut status = previous.cloned().unwrap_or_default();
    status.conditions = conditions::merge(&status.conditions, updates, generation, now);
    status.observed_generation = generation;
    stamped(status, previous, now)
}

/// A human must resolve a conflict: the area's condition says `Conflict` and names the other
/// policies, unless the area failed (that reason wins; the conflict is added to its message).
/// The plan and status block to judge an area by, or its condition when it was not observed
/// or changes failed (the first five named): what every area's condition says first.
fn observed_without_failures<'a, A: Area>(
    type_: &'static str,
    outcome: &'a AreaOutcome<A>,
    status: Option<&'a A::Status>,
) -> Result<(&'a A::Plan, &'a A::Status), ConditionUpdate> {
    let (plan, status) = match (&outcome.plan, status) {
        (AreaPlan::Planned(plan), Some(status)) => (plan, status),
        (AreaPlan::ObservationFailed(error), _) => {
            return Err(ConditionUpdate::new(
                type_,
                false,
                reason::OBSERVATION_FAILED,
                format!("{error}; nothing was changed in this area"),
            ));
        }
        (AreaPlan::Planned(_), None) => return Err(ConditionUpdate::new(type_, false, reason::OBSERVATION_FAILED, "no observation")),
    };
    let failures: Vec<String> = outcome.failed_changes().map(|(change, error)| format!("{}: {error}", A::describe(change))).collect();
    if !failures.is_empty() {
        let shown: Vec<&str> = failures.iter().take(5).map(String::as_str).collect();
        return Err(ConditionUpdate::new(
            type_,
            false,
            reason::ACTION_FAILED,
            format!("{} of {} changes failed: {}", failures.len(), outcome.results.len(), shown.join("; ")),
        ));
    }
    Ok((plan, status))
}

fn report_conflict(update: &mut ConditionUpdate, message: String) {
    if update.reason == reason::OBSERVATION_FAILED || update.reason == reason::ACTION_FAILED {
        update.message = format!("{}; {message}", update.message);
    } else {
        update.message = if update.message.is_empty() { message } else { format!("{message}; {}", update.message) };
        update.status = false;
        update.reason = reason::CONFLICT;
    }
}

/// What the conflicts of an area are, if it has any.
fn conflict_message<A: Area>(applied: &AppliedRun, outcome: &AreaOutcome<A>) -> Option<String> {
    let others: Vec<&str> = applied.conflicts.iter().filter(|c| c.area == A::NAME).map(|c| c.other.as_str()).collect();
    (!others.is_empty()).then(|| A::conflict_message(&others, outcome))
}

/// The conflicts of every area of a run, one message each.
pub fn conflict_messages(applied: &AppliedRun) -> Vec<String> {
    struct Messages<'r>(&'r AppliedRun, Vec<String>);
    impl Visit<'_, Applied> for Messages<'_> {
        fn visit<A: Area>(&mut self, outcome: &AreaOutcome<A>) {
            self.1.extend(conflict_message(self.0, outcome));
        }
    }
    let mut messages = Messages(applied, Vec::new());
    applied.areas.each(&mut messages);
    messages.1
}

fn ready_condition(areas: &[&ConditionUpdate], audit: bool, findings: u32) -> ConditionUpdate {
    let failing: Vec<&str> = areas
        .iter()
        .filter(|c| !c.status && c.reason != reason::DRIFT_FOUND && !reason::PENDING.contains(&c.reason))
        .map(|c| c.type_)
        .collect();
    if !failing.is_empty() {
        // Every area that is False, with its reason: one waiting for a grace period is not in
        // sync either, though alone it would not make Ready False.
        let not_in_sync: Vec<String> = areas.iter().filter(|c| !c.status).map(|c| format!("{} ({})", c.type_, c.reason)).collect();
        return ConditionUpdate::new(
            conditions::READY,
            false,
            reason::AREAS_NOT_IN_SYNC,
            format!("not in sync: {}", not_in_sync.join(", ")),
        );
    }
    if audit && findings > 0 {
        return ConditionUpdate::new(
            conditions::READY,
            true,
            reason::DRIFT_FOUND,
            format!("Audit mode: {findings} findings reported, nothing changed"),
        );
    }
    // Several areas share a pending reason (snapshots' and orphan alarms' DeletionPending): say whose.
    if let Some(pending) = areas.iter().find(|c| reason::PENDING.contains(&c.reason)) {
        return ConditionUpdate::new(conditions::READY, true, pending.reason, format!("{}: {}", pending.type_, pending.message));
    }
    if areas.iter().any(|c| c.reason == reason::RECONCILED) {
        return ConditionUpdate::new(conditions::READY, true, reason::RECONCILED, "every planned change succeeded");
    }
    ConditionUpdate::new(conditions::READY, true, reason::IN_SYNC, "the account matches the policy")
}

fn total_cost(mut areas: Vec<AreaCost>, applied: &AppliedRun) -> CostStatus {
    // Only a policy whose areas price something has prices to state.
    let items = price_items(&applied.policy);
    let prices = if items.is_empty() { String::new() } else { applied.prices.basis(&items) };
    let measured = match &applied.spend {
        None => String::new(),
        Some(Err(error)) => format!("AWS Cost Explorer could not be read: {error}"),
        Some(Ok(spend)) => {
            for cost in &mut areas {
                cost.measured = measured_spend(&cost.area, spend);
            }
            spend.basis()
        }
    };
    let sum = |f: fn(&AreaCost) -> &str| areas.iter().map(|a| f(a).parse::<f64>().unwrap_or(0.0)).sum::<f64>();
    CostStatus {
        monthly_waste_usd: usd(sum(|a| &a.monthly_waste_usd)),
        monthly_savings_usd: usd(sum(|a| &a.monthly_savings_usd)),
        monthly_cost_usd: usd(sum(|a| &a.monthly_cost_usd)),
        areas,
        prices,
        measured,
    }
}

/// What the account paid for the usage types the area changes, when it prices any.
pub fn measured_spend(area: &str, spend: &Spend) -> Option<MeasuredSpend> {
    let items = prices_of(AreaName::from_key(area)?);
    if items.is_empty() {
        return None;
    }
    let month = |start: &str| start.get(..7).unwrap_or(start).to_string();
    Some(MeasuredSpend {
        usage_types: items.iter().map(|i| i.usage_type().to_string()).collect(),
        last_month: month(&spend.last_month.start),
        last_month_usd: usd(Spend::total(&spend.last_month, items)),
        month_to_date: month(&spend.month_to_date.start),
        month_to_date_usd: usd(Spend::total(&spend.month_to_date, items)),
        last_month_estimated: spend.last_month.estimated,
    })
}

#[cfg(test)]
mod tests;
