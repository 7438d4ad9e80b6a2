//! Status, condition and cost of the accessKeys area.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::conditions::{self, ConditionUpdate, reason};
use crate::api::{AccessKeyStatus, AccessKeysStatus, AreaCost, AreaName, CostPolicyStatus, usd};
use crate::engine::areas::AccessKeys;
use crate::engine::{AreaKind, AreaOutcome, AreaPlan, Report, Run};
use crate::plan::access_keys::{AccessKeysChange, AccessKeysPlan, KeyAction, KeyReport, KeyState, MARK_PREFIX};
use crate::plan::snapshot_retention::rfc3339;

pub const AREA: &str = AreaName::AccessKeys.key();
const BASIS: &str = "no direct cost: a security practice (IAM users and access keys are free)";
const MAX_LISTED: usize = 20;

impl Report for AccessKeys {
    fn status_of(status: &CostPolicyStatus) -> Option<&Self::Status> {
        status.access_keys.as_ref()
    }

    fn status_slot(status: &mut CostPolicyStatus) -> &mut Option<Self::Status> {
        &mut status.access_keys
    }

    fn findings(status: &Self::Status) -> u32 {
        status.findings
    }

    fn details(plan: &Self::Plan, outcome: &AreaOutcome<Self>, previous: Option<&Self::Status>, _now: &Time) -> (Self::Status, AreaCost) {
        let cost = AreaCost {
            area: AREA.to_string(),
            monthly_waste_usd: usd(0.0),
            monthly_savings_usd: usd(0.0),
            monthly_cost_usd: usd(0.0),
            basis: BASIS.to_string(),
            measured: None,
        };
        (details(plan, outcome, previous), cost)
    }

    fn condition(outcome: &AreaOutcome<Self>, status: Option<&Self::Status>, audit: bool) -> ConditionUpdate {
        condition(outcome, status, audit)
    }

    fn conflict_message(others: &[&str], outcome: &AreaOutcome<Self>) -> String {
        let managed_by = match &outcome.plan {
            AreaPlan::Planned(plan) => plan.managed_by.clone(),
            AreaPlan::ObservationFailed(_) => None,
        };
        match managed_by {
            Some(manager) => format!(
                "{} of this account (IAM is global) are also governed by CostPolicy {}; only {manager} (the smallest name) acts, this policy only reports",
                Self::NAME,
                others.join(", ")
            ),
            None => format!(
                "{} of this account (IAM is global) are also governed by CostPolicy {}; this policy acts, they only report",
                Self::NAME,
                others.join(", ")
            ),
        }
    }
}

/// Whether the change that acts on `key` succeeded: None when none was made.
fn key_outcome(outcome: &AreaOutcome<AccessKeys>, key: &KeyReport) -> Option<bool> {
    let mark = format!("{MARK_PREFIX}{}", key.access_key_id);
    outcome.results.iter().find_map(|r| {
        let concerns = match &r.change {
            AccessKeysChange::MarkUser { access_key_id, .. } | AccessKeysChange::DeactivateKey { access_key_id, .. } => {
                access_key_id == &key.access_key_id
            }
            AccessKeysChange::UnmarkUser { user_name, tag_keys } => user_name == &key.user_name && tag_keys.contains(&mark),
        };
        concerns.then(|| r.outcome.as_ref().err().is_none_or(|e| !AccessKeys::is_failure(&r.change, e)))
    })
}

/// The key's state after the run.
fn state_after(outcome: &AreaOutcome<AccessKeys>, key: &KeyReport) -> &'static str {
    let before = match key.state {
        KeyState::Reported => "Reported",
        KeyState::Marked => "Marked",
        KeyState::Excluded => "Excluded",
    };
    match (key.action, key_outcome(outcome, key)) {
        (_, Some(false)) => "Failed",
        (Some(KeyAction::Mark), Some(true)) => "Marked",
        (Some(KeyAction::Deactivate), Some(true)) => "Deactivated",
        (Some(KeyAction::Spare), Some(true)) => "Spared",
        _ => before,
    }
}

fn details(plan: &AccessKeysPlan, outcome: &AreaOutcome<AccessKeys>, previous: Option<&AccessKeysStatus>) -> AccessKeysStatus {
    let mut status = AccessKeysStatus {
        users_in_scope: plan.users_in_scope,
        users_with_two_active_keys: plan.users_with_two_active_keys,
        own_keys_excluded: plan.own_keys_excluded,
        keys_not_markable: plan.not_markable,
        ..Default::default()
    };
    let mut keys = Vec::new();
    for key in &plan.keys {
        let state = state_after(outcome, key);
        match state {
            "Deactivated" => status.deactivated_last_run += 1,
            "Marked" => status.marked += 1,
            _ => {}
        }
        if state != "Deactivated" && key.is_finding() {
            status.findings += 1;
            status.keys_over_age += u32::from(key.over_age);
            status.keys_unused += u32::from(key.unused);
            status.keys_never_used += u32::from(key.last_used.is_none());
        }
        let last = key.last_used.as_ref();
        keys.push(AccessKeyStatus {
            user_name: key.user_name.clone(),
            access_key_id: key.access_key_id.clone(),
            age_days: key.age_days,
            last_used_date: last.map(|u| rfc3339(u.at)),
            last_used_service: last.and_then(|u| u.service.clone()),
            last_used_region: last.and_then(|u| u.region.clone()),
            unused_days: key.unused_days,
            state: state.to_string(),
        });
    }
    status.active_keys = plan.active_keys - status.deactivated_last_run;
    status.findings += plan.users_with_two_active_keys
        + outcome.failed_changes().filter(|(c, _)| matches!(c, AccessKeysChange::UnmarkUser { .. })).count() as u32;
    status.deactivated_total = previous.map(|p| p.deactivated_total).unwrap_or(0) + u64::from(status.deactivated_last_run);
    status.keys_not_listed = keys.len().saturating_sub(MAX_LISTED) as u32;
    keys.truncate(MAX_LISTED);
    status.keys = keys;
    status
}

fn condition(outcome: &AreaOutcome<AccessKeys>, status: Option<&AccessKeysStatus>, audit: bool) -> ConditionUpdate {
    let type_ = conditions::ACCESS_KEYS_IN_SYNC;
    let (plan, status) = match super::observed_without_failures(type_, outcome, status) {
        Ok(judged) => judged,
        Err(condition) => return condition,
    };
    let own = if status.own_keys_excluded > 0 {
        format!("; {} keys of the operator's own user never deactivated", status.own_keys_excluded)
    } else {
        String::new()
    };
    let summary = format!(
        "active keys: {} of {} users, over age: {}, unused: {}, never used: {}, users with two active keys: {}, marked: {}{own}",
        status.active_keys,
        status.users_in_scope,
        status.keys_over_age,
        status.keys_unused,
        status.keys_never_used,
        status.users_with_two_active_keys,
        status.marked
    );
    if audit && (!plan.drift.is_empty() || status.findings > 0) {
        return ConditionUpdate::new(
            type_,
            false,
            reason::DRIFT_FOUND,
            format!("Audit mode: {summary}; {} changes planned, nothing was changed", plan.drift.len()),
        );
    }
    if status.marked > 0 {
        return ConditionUpdate::new(
            type_,
            false,
            reason::DEACTIVATION_PENDING,
            format!("{} keys marked on their users, deactivated after the grace period if still unused; {summary}", status.marked),
        );
    }
    if outcome.results.is_empty() {
        let open = if status.findings > 0 { format!("; {} findings reported", status.findings) } else { String::new() };
        ConditionUpdate::new(type_, true, reason::IN_SYNC, format!("{summary}{open}"))
    } else {
        ConditionUpdate::new(type_, true, reason::RECONCILED, format!("keys deactivated: {}; {summary}", status.deactivated_last_run))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::time::Duration;

    use super::*;
    use crate::api::validate::AccessKeysDesired;
    use crate::engine::{ChangeResult, CloudError, ErrorKind};
    use crate::plan::Tags;
    use crate::plan::access_keys::{AccessKey, AccessKeysInventory, IamUser, plan};

    const NOW: i64 = 1_800_000_000;

    fn planned() -> AccessKeysPlan {
        let desired = AccessKeysDesired {
            max_key_age_days: 90,
            max_unused_days: 90,
            deactivate_unused: true,
            grace_period: Duration::ZERO,
            max_deactivations_per_run: 10,
            exclude_user_tags: BTreeMap::new(),
            exclude_user_names: BTreeSet::new(),
        };
        let user = |name: &str, id: &str| IamUser {
            name: name.into(),
            tags: Tags::new(),
            keys: vec![AccessKey { id: id.into(), active: true, created: NOW - 200 * 86_400, last_used: None }],
        };
        let inventory = AccessKeysInventory { users: vec![user("a", "AKIAA"), user("b", "AKIAB")], caller_arn: String::new() };
        plan("p", &desired, &inventory, NOW, true, None)
    }

    #[test]
    fn deactivations_add_to_the_running_total_and_a_failed_one_stays_a_finding() {
        let plan = planned();
        let results = vec![
            ChangeResult { change: plan.actions[0].clone(), outcome: Ok(None) },
            ChangeResult {
                change: plan.actions[1].clone(),
                outcome: Err(CloudError::new("UpdateAccessKey", ErrorKind::AccessDenied, "not authorized")),
            },
        ];
        let outcome = AreaOutcome::<AccessKeys> { plan: AreaPlan::Planned(plan.clone()), results };
        let previous = AccessKeysStatus { deactivated_total: 5, ..Default::default() };
        let status = details(&plan, &outcome, Some(&previous));
        assert_eq!((status.deactivated_last_run, status.deactivated_total, status.active_keys), (1, 6, 1));
        let states: Vec<(&str, &str)> = status.keys.iter().map(|k| (k.access_key_id.as_str(), k.state.as_str())).collect();
        assert_eq!(states, [("AKIAA", "Deactivated"), ("AKIAB", "Failed")]);
        assert_eq!(status.findings, 1, "the key that is still active");
        let condition = condition(&outcome, Some(&status), false);
        assert_eq!((condition.status, condition.reason), (false, reason::ACTION_FAILED));
        assert!(condition.message.contains("AKIAB"), "{}", condition.message);
    }

    /// A marked key waits for its grace period: the area is not in sync, Ready stays True
    /// and says what is pending (as for snapshots waiting to be deleted).
    #[test]
    fn keys_marked_for_a_later_deactivation_are_pending() {
        let desired = AccessKeysDesired {
            max_key_age_days: 90,
            max_unused_days: 90,
            deactivate_unused: true,
            grace_period: Duration::from_secs(86_400),
            max_deactivations_per_run: 10,
            exclude_user_tags: BTreeMap::new(),
            exclude_user_names: BTreeSet::new(),
        };
        let key = AccessKey { id: "AKIAA".into(), active: true, created: NOW - 200 * 86_400, last_used: None };
        let inventory = AccessKeysInventory {
            users: vec![IamUser { name: "a".into(), tags: Tags::new(), keys: vec![key] }],
            caller_arn: String::new(),
        };
        let plan = plan("p", &desired, &inventory, NOW, true, None);
        let results = plan.actions.iter().map(|c| ChangeResult { change: c.clone(), outcome: Ok(None) }).collect();
        let outcome = AreaOutcome::<AccessKeys> { plan: AreaPlan::Planned(plan.clone()), results };
        let status = details(&plan, &outcome, None);
        assert_eq!(status.marked, 1);
        let condition = condition(&outcome, Some(&status), false);
        assert_eq!((condition.status, condition.reason), (false, reason::DEACTIVATION_PENDING), "{}", condition.message);
        let ready = super::super::ready_condition(&[&condition], false, status.findings);
        assert_eq!((ready.status, ready.reason), (true, reason::DEACTIVATION_PENDING), "{}", ready.message);
    }

    #[test]
    fn audit_reports_drift_and_lists_never_used_keys_without_a_last_use() {
        let mut plan = planned();
        plan.actions.clear();
        let outcome = AreaOutcome::<AccessKeys> { plan: AreaPlan::Planned(plan.clone()), results: Vec::new() };
        let status = details(&plan, &outcome, None);
        assert_eq!((status.keys_never_used, status.keys_unused, status.findings, status.deactivated_total), (2, 2, 2, 0));
        assert!(status.keys.iter().all(|k| k.last_used_date.is_none() && k.state == "Reported"));
        let condition = condition(&outcome, Some(&status), true);
        assert_eq!((condition.status, condition.reason), (false, reason::DRIFT_FOUND));
    }
}
