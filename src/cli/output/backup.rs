//! `frugal plan` rendering of the backup area: a field-level diff of the plan.

use std::fmt::Write;

use crate::plan::backup::{BackupChange, BackupPlan, PlanOwnership};

pub(super) fn backup_table(out: &mut String, plan: &BackupPlan) {
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

/// Counts for the summary line: (create, change, destroy).
pub(super) fn counts(plan: &BackupPlan) -> (usize, usize, usize) {
    let mut counts = (0, 0, 0);
    for change in &plan.drift {
        match change {
            BackupChange::CreateVault { .. } | BackupChange::CreatePlan { .. } | BackupChange::CreateSelection { .. } => counts.0 += 1,
            BackupChange::UpdatePlan { .. } => counts.1 += 1,
            _ => counts.2 += 1,
        }
    }
    counts
}
