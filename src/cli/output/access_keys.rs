//! `frugal plan` rendering of the accessKeys area: each mark, deactivation and unmark, then
//! the riskiest keys.

use std::fmt::Write;

use serde_json::json;

use crate::engine::areas::AccessKeys;
use crate::engine::{AreaOutcome, Output, PlanCounts};
use crate::plan::access_keys::{AccessKeysChange, AccessKeysPlan, KeyState};

use super::{AreaJson, results_json};

const MAX_LISTED: usize = 20;

impl Output for AccessKeys {
    /// Marks, unmarks and deactivations are all changes: nothing is ever deleted.
    fn plan_section(out: &mut String, plan: &Self::Plan) -> PlanCounts {
        keys_table(out, plan);
        PlanCounts { change: plan.drift.len(), ..Default::default() }
    }

    fn describe(change: &Self::Change) -> String {
        change.describe()
    }

    fn objects(_change: &Self::Change) -> usize {
        1
    }

    type Json<'a> = AreaJson<serde_json::Value>;

    fn json(outcome: &AreaOutcome<Self>) -> Self::Json<'_> {
        AreaJson::of(outcome, |plan| {
            json!({
                "drift": plan.drift,
                "keys": plan.keys,
                "managedBy": plan.managed_by,
                "results": results_json(&outcome.results),
            })
        })
    }
}

fn keys_table(out: &mut String, plan: &AccessKeysPlan) {
    let _ = writeln!(out, "accessKeys: {} users in scope, {} active keys", plan.users_in_scope, plan.active_keys);
    if let Some(manager) = &plan.managed_by {
        let _ = writeln!(out, "  = managed by CostPolicy {manager} (IAM is global): this policy only reports");
    }
    for change in &plan.drift {
        let mark = match change {
            AccessKeysChange::MarkUser { .. } => "+",
            AccessKeysChange::DeactivateKey { .. } => "~",
            AccessKeysChange::UnmarkUser { .. } => "-",
        };
        let _ = writeln!(out, "  {mark} {}", change.describe());
    }
    let reported: Vec<_> = plan.keys.iter().filter(|k| k.action.is_none()).collect();
    for key in reported.iter().take(MAX_LISTED) {
        let used = match &key.last_used {
            None => "never used".to_string(),
            Some(_) => format!("unused for {} days", key.unused_days),
        };
        let why = match key.state {
            KeyState::Excluded => ", the operator's own key: never deactivated",
            KeyState::Marked => ", marked",
            KeyState::Reported => "",
        };
        let _ = writeln!(out, "  ! {} key {}: {} days old, {used}{why}", key.user_name, key.access_key_id, key.age_days);
    }
    if reported.len() > MAX_LISTED {
        let _ = writeln!(out, "    ... and {} more", reported.len() - MAX_LISTED);
    }
    if plan.users_with_two_active_keys > 0 {
        let _ = writeln!(out, "  ! users with two active keys: {}", plan.users_with_two_active_keys);
    }
    if plan.deactivations_deferred > 0 {
        let _ = writeln!(out, "  = {} deactivations wait for a later run (maxDeactivationsPerRun)", plan.deactivations_deferred);
    }
}
