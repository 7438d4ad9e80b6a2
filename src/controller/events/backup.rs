//! Events of the backup area: one per kind of change per run, Warnings for failures.

use kube::runtime::events::Event;

use crate::engine::{AreaOutcome, AreaPlan};
use crate::plan::backup::{BackupChange, BackupPlan};

use super::{normal, warning};

pub(super) fn backup_events(area: &AreaOutcome<BackupPlan, BackupChange>, events: &mut Vec<Event>) {
    if let AreaPlan::ObservationFailed(error) = &area.plan {
        events.push(warning("ObservationFailed", "Observe", format!("backup: {error}; nothing was changed")));
        return;
    }
    let mut failed = Vec::new();
    for result in &area.results {
        let (reason, action) = match &result.change {
            BackupChange::CreateVault { .. } => ("BackupVaultCreated", "CreateBackupVault"),
            BackupChange::CreatePlan { .. } => ("BackupPlanCreated", "CreateBackupPlan"),
            BackupChange::UpdatePlan { .. } => ("BackupPlanDriftCorrected", "UpdateBackupPlan"),
            BackupChange::CreateSelection { .. } => ("BackupSelectionCreated", "CreateBackupSelection"),
            BackupChange::DeleteSelection { .. } => ("BackupSelectionReplaced", "DeleteBackupSelection"),
            BackupChange::DeletePlan { .. } => ("BackupPlanDeleted", "DeleteBackupPlan"),
            BackupChange::DeleteVault { .. } => ("BackupVaultDeleted", "DeleteBackupVault"),
        };
        match &result.outcome {
            Ok(Some(id)) => events.push(normal(reason, action, format!("{}: {id}", result.change.describe()))),
            Ok(None) => events.push(normal(reason, action, result.change.describe())),
            Err(error) => failed.push(format!("{}: {error}", result.change.describe())),
        }
    }
    if !failed.is_empty() {
        events.push(warning("ActionFailed", "Backup", format!("backup changes failed: {}", failed.join("; "))));
    }
}
