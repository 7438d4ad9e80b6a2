//! Events of the backup area: one per kind of change per run, Warnings for failures.

use kube::runtime::events::Event;

use crate::engine::areas::Backup;
use crate::engine::{AreaOutcome, Publish};
use crate::metrics::Metrics;
use crate::plan::backup::BackupChange;

use super::{normal, observation_failed, warning};

impl Publish for Backup {
    fn events(outcome: &AreaOutcome<Self>) -> Vec<Event> {
        let mut events = Vec::new();
        backup_events(outcome, &mut events);
        events
    }

    fn record(_metrics: &Metrics, _policy: &str, _status: &Self::Status) {}
}

fn backup_events(area: &AreaOutcome<Backup>, events: &mut Vec<Event>) {
    if let Some(event) = observation_failed(area, "nothing was changed") {
        events.push(event);
        return;
    }
    // Changes of one kind share an Event: the Recorder folds a second Event of the same
    // reason and action into the first, note included (e.g. two old selections replaced).
    let mut kinds: Vec<(&str, &str, Vec<String>)> = Vec::new();
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
        let line = match &result.outcome {
            Ok(Some(id)) => format!("{}: {id}", result.change.describe()),
            Ok(None) => result.change.describe(),
            Err(error) => {
                failed.push(format!("{}: {error}", result.change.describe()));
                continue;
            }
        };
        match kinds.iter_mut().find(|(r, a, _)| *r == reason && *a == action) {
            Some((_, _, lines)) => lines.push(line),
            None => kinds.push((reason, action, vec![line])),
        }
    }
    events.extend(kinds.into_iter().map(|(reason, action, lines)| normal(reason, action, lines.join("; "))));
    if !failed.is_empty() {
        events.push(warning("ActionFailed", "Backup", format!("backup changes failed: {}", failed.join("; "))));
    }
}
