//! The act and cleanup steps of the backup area: changes depend on each other (a selection
//! needs its plan, an old selection goes only after its replacement exists), so the first
//! failure stops the area for this run.

use async_trait::async_trait;

use crate::api::validate::ValidatedPolicy;
use crate::engine::area::{ChangeResult, Run};
use crate::engine::areas::Backup;
use crate::engine::cloud::{AreaCloud, Cloud, CloudError, ErrorKind};
use crate::plan::backup::{self, BackupChange, BackupPlan};
use crate::plan::conflicts::Peers;
use crate::pricing::{PriceItem, Prices};

#[async_trait]
impl Run for Backup {
    // AWS Backup's EBS recovery points are EBS snapshots, billed at the snapshot price.
    const PRICES: &'static [PriceItem] = &[PriceItem::SnapshotGbMonth];

    fn desired(policy: &ValidatedPolicy) -> Option<&Self::Desired> {
        policy.backup.as_ref()
    }

    async fn observe(cloud: &dyn Cloud, policy: &ValidatedPolicy, desired: &Self::Desired) -> Result<Self::Inventory, CloudError> {
        AreaCloud::<Self>::observe(cloud, policy, desired).await
    }

    fn plan(
        policy: &ValidatedPolicy,
        desired: &Self::Desired,
        _peers: &Peers,
        inventory: &Self::Inventory,
        prices: &Prices,
        _now: i64,
    ) -> Self::Plan {
        BackupPlan { prices: prices.clone(), ..backup::plan(&policy.name, desired, inventory, !policy.is_audit()) }
    }

    async fn act(cloud: &dyn Cloud, policy: &str, plan: &Self::Plan) -> Vec<ChangeResult<Self::Change>> {
        act(cloud, policy, plan).await
    }

    fn is_failure(_change: &Self::Change, _error: &CloudError) -> bool {
        true
    }

    /// The changes, and a blocker only a person can remove.
    fn drift_count(plan: &Self::Plan) -> usize {
        plan.drift.len() + usize::from(plan.blocker.is_some())
    }

    fn change_count(plan: &Self::Plan) -> usize {
        plan.drift.len()
    }

    async fn cleanup(cloud: &dyn Cloud, policy: &ValidatedPolicy) -> Result<Vec<String>, CloudError> {
        cleanup(cloud, policy).await
    }

    fn action(change: &Self::Change) -> &'static str {
        match change {
            BackupChange::CreateVault { .. } => "create_vault",
            BackupChange::CreatePlan { .. } => "create_plan",
            BackupChange::UpdatePlan { .. } => "update_plan",
            BackupChange::CreateSelection { .. } => "create_selection",
            BackupChange::DeleteSelection { .. } => "delete_selection",
            BackupChange::DeletePlan { .. } => "delete_plan",
            BackupChange::DeleteVault { .. } => "delete_vault",
        }
    }
}

async fn act(cloud: &dyn Cloud, policy: &str, plan: &BackupPlan) -> Vec<ChangeResult<BackupChange>> {
    let mut results = Vec::new();
    let mut created_plan_id: Option<String> = None;
    for change in &plan.actions {
        let mut change = change.clone();
        if let BackupChange::CreateSelection { plan_id: plan_id @ None, .. } = &mut change {
            plan_id.clone_from(&created_plan_id);
        }
        let outcome = AreaCloud::<Backup>::apply(cloud, policy, &change).await;
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
async fn cleanup(cloud: &dyn Cloud, policy: &ValidatedPolicy) -> Result<Vec<String>, CloudError> {
    let Some(desired) = &policy.backup else { return Ok(Vec::new()) };
    let inventory = AreaCloud::<Backup>::observe(cloud, policy, desired).await?;
    let mut deleted = Vec::new();
    for change in backup::plan_cleanup(&policy.name, desired, &inventory) {
        match AreaCloud::<Backup>::apply(cloud, &policy.name, &change).await {
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
