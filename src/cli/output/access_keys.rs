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
            Some(_) if key.unused_days == 1 => "unused for 1 day".to_string(),
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
    if plan.not_markable > 0 {
        let _ = writeln!(
            out,
            "  ! {} unused keys cannot be marked (their user has IAM's 50 tags): reported, never deactivated",
            plan.not_markable
        );
    }
    if plan.deactivations_deferred > 0 {
        let _ = writeln!(out, "  = {} deactivations wait for a later run (maxDeactivationsPerRun)", plan.deactivations_deferred);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::access_keys::{KeyReport, LastUse};

    #[test]
    fn the_section_shows_each_change_and_the_keys_left_as_findings() {
        let key = |id: &str, state, last_used| KeyReport {
            user_name: "ci".into(),
            access_key_id: id.into(),
            age_days: 400,
            last_used,
            unused_days: 120,
            over_age: true,
            unused: true,
            state,
            action: None,
        };
        let plan = AccessKeysPlan {
            drift: vec![AccessKeysChange::MarkUser {
                user_name: "ci".into(),
                access_key_id: "AKIA1".into(),
                tag_key: "frugal.dev/deactivate-AKIA1".into(),
                tag_value: "2027-01-01T00:00:00Z by p".into(),
                deactivate_after: "2027-01-01T00:00:00Z".into(),
            }],
            actions: Vec::new(),
            users_in_scope: 2,
            active_keys: 3,
            users_with_two_active_keys: 1,
            own_keys_excluded: 1,
            deactivations_deferred: 0,
            not_markable: 0,
            managed_by: None,
            keys: vec![key("AKIAOWN", KeyState::Excluded, None), key("AKIA2", KeyState::Reported, Some(LastUse::default()))],
        };
        let mut out = String::new();
        let counts = AccessKeys::plan_section(&mut out, &plan);
        assert_eq!((counts.create, counts.change, counts.destroy), (0, 1, 0), "a mark is a change; nothing is destroyed");
        assert!(out.starts_with("accessKeys: 2 users in scope, 3 active keys\n"), "{out}");
        assert!(out.contains("  + mark user ci: key AKIA1 unused, deactivated after 2027-01-01T00:00:00Z unless used\n"), "{out}");
        assert!(out.contains("  ! ci key AKIAOWN: 400 days old, never used, the operator's own key: never deactivated\n"), "{out}");
        assert!(out.contains("  ! ci key AKIA2: 400 days old, unused for 120 days\n"), "{out}");
        assert!(out.contains("  ! users with two active keys: 1\n"), "{out}");
    }
}
