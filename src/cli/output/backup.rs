//! `frugal plan` rendering of the backup area: a field-level diff of the plan.

use std::fmt::Write;

use serde_json::json;

use crate::engine::areas::Backup;
use crate::engine::{AreaOutcome, Output, PlanCounts};
use crate::plan::backup::{BackupChange, BackupPlan, PlanOwnership};

use super::{AreaJson, results_json};

impl Output for Backup {
    fn plan_section(out: &mut String, plan: &Self::Plan) -> PlanCounts {
        backup_table(out, plan);
        let mut counts = PlanCounts::default();
        for change in &plan.drift {
            match change {
                BackupChange::CreateVault { .. } | BackupChange::CreatePlan { .. } | BackupChange::CreateSelection { .. } => {
                    counts.create += 1
                }
                BackupChange::UpdatePlan { .. } => counts.change += 1,
                BackupChange::DeleteSelection { .. } | BackupChange::DeletePlan { .. } | BackupChange::DeleteVault { .. } => {
                    counts.destroy += 1
                }
            }
        }
        counts
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
                "differences": plan.differences,
                "blocker": plan.blocker.as_ref().map(|b| b.describe()),
                "results": results_json(&outcome.results),
            })
        })
    }
}

fn backup_table(out: &mut String, plan: &BackupPlan) {
    let ownership = match plan.plan_ownership {
        PlanOwnership::Managed => "managed",
        PlanOwnership::Adopted => "adopted",
        PlanOwnership::NotOwned => "not ours",
        PlanOwnership::Missing => "missing",
    };
    let plan_text = match &plan.plan_id {
        Some(id) => format!("plan {id} ({ownership})"),
        None => format!("plan {ownership}"),
    };
    let _ = writeln!(out, "backup: {plan_text}, selection {}", plan.selection_id.as_deref().unwrap_or("missing"));
    if let Some(blocker) = &plan.blocker {
        let _ = writeln!(out, "  ! {}", blocker.describe());
    }
    for change in &plan.drift {
        match change {
            BackupChange::CreateVault { .. } | BackupChange::CreatePlan { .. } | BackupChange::CreateSelection { .. } => {
                let _ = writeln!(out, "  + {}", change.describe());
            }
            BackupChange::UpdatePlan { name, differences, .. } => {
                let _ = writeln!(out, "  ~ update backup plan {name}");
                for difference in differences {
                    let _ = writeln!(out, "      {difference}");
                }
            }
            BackupChange::DeleteSelection { .. } | BackupChange::DeletePlan { .. } | BackupChange::DeleteVault { .. } => {
                let _ = writeln!(out, "  - {}", change.describe());
            }
        }
    }
    for rule in &plan.observed_rules {
        let retention = rule.retention_days.map(|d| format!("{d} days")).unwrap_or_else(|| "forever".to_string());
        let verdict = if rule.problems.is_empty() { "ok".to_string() } else { rule.problems.join("; ") };
        let _ = writeln!(out, "  = rule {}: {}, retention {retention}: {verdict}", rule.name, rule.frequency);
    }
    let c = &plan.coverage;
    let _ = writeln!(
        out,
        "  = covers {} instances and {} volumes ({} GiB); backup storage up to ${:.2}/month",
        c.instances_covered,
        c.volumes_covered,
        c.covered_gib,
        plan.monthly_storage_usd()
    );
    if c.uncovered_count > 0 {
        let more = c.uncovered_count as usize - c.uncovered.len();
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        let _ = writeln!(out, "  ! not covered though required: {}{more}", c.uncovered.join(", "));
    }
}
