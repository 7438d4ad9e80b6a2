//! The act and cleanup steps of the backup area: changes depend on each other (a selection
//! needs its plan, an old selection goes only after its replacement exists), so the first
//! failure stops the area for this run.

use crate::api::validate::ValidatedPolicy;
use crate::engine::cloud::{Cloud, CloudError, ErrorKind};
use crate::plan::backup::{self, BackupChange, BackupPlan};

use super::{AreaPlan, ChangeResult};

pub(super) async fn act(cloud: &dyn Cloud, policy: &str, plan: &AreaPlan<BackupPlan>) -> Vec<ChangeResult<BackupChange>> {
    let mut results = Vec::new();
    let AreaPlan::Planned(plan) = plan else { return results };
    let mut created_plan_id: Option<String> = None;
    for change in &plan.actions {
        let mut change = change.clone();
        if let BackupChange::CreateSelection { plan_id: plan_id @ None, .. } = &mut change {
            plan_id.clone_from(&created_plan_id);
        }
        let outcome = cloud.apply_backup_change(&change).await;
        if let (BackupChange::CreatePlan { .. }, Ok(Some(id))) = (&change, &outcome) {
            created_plan_id = Some(backup::parse_created_plan(id).0.to_string());
        }
        let failed = outcome.is_err();
        if let Err(error) = &outcome {
            tracing::warn!(%policy, change = %change.describe(), %error, "backup change failed; the rest of the area waits for the next run");
        }
        results.push(ChangeResult { change, outcome });
        // Later changes depend on this one: never delete the old selection without its replacement.
        if failed {
            break;
        }
    }
    results
}

/// Deletes this policy's selections, then its plan, then its empty vault. Returns what was deleted.
pub(super) async fn cleanup(cloud: &dyn Cloud, policy: &ValidatedPolicy) -> Result<Vec<String>, CloudError> {
    let Some(desired) = &policy.backup else { return Ok(Vec::new()) };
    let inventory = cloud.observe_backup(&policy.name, desired).await?;
    let mut deleted = Vec::new();
    for change in backup::plan_cleanup(&policy.name, desired, &inventory) {
        match cloud.apply_backup_change(&change).await {
            // Someone deleted it since we looked: what cleanup wanted.
            Err(error) if error.kind == ErrorKind::NotFound => continue,
            other => other?,
        };
        deleted.push(match change {
            BackupChange::DeleteSelection { name, .. } => format!("backup selection {name}"),
            BackupChange::DeletePlan { name, .. } => format!("backup plan {name}"),
            BackupChange::DeleteVault { name } => format!("backup vault {name}"),
            other => other.describe(),
        });
    }
    Ok(deleted)
}
