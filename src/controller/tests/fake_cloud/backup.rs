//! The in-memory account's AWS Backup vault, plans and selections.

use async_trait::async_trait;

use super::super::fixtures::{ACCOUNT, REGION};
use super::{CloudCall, FakeCloud, lock};
use crate::api::validate::{BackupDesired, ValidatedPolicy};
use crate::engine::areas::Backup;
use crate::engine::{AreaCloud, CloudError, ErrorKind};
use crate::plan::backup::{BackupChange, BackupInventory, BackupVault, ObservedPlan, Selection};

#[async_trait]
impl AreaCloud<Backup> for FakeCloud {
    /// The account's vault and plan: none unless a test seeds them.
    async fn observe(&self, _policy: &ValidatedPolicy, _desired: &BackupDesired) -> Result<BackupInventory, CloudError> {
        self.record(CloudCall::ObserveBackup);
        if let Some(error) = &self.fail_observe_backup {
            return Err(error.clone());
        }
        Ok(self.backup())
    }

    /// Behaves as AWS Backup does where the order of calls matters: a selection needs a live
    /// plan, a plan with selections cannot be deleted, nor a vault with recovery points.
    async fn apply(&self, _policy: &str, change: &BackupChange) -> Result<Option<String>, CloudError> {
        let (operation, target) = match change {
            BackupChange::CreateVault { name, .. } => ("CreateBackupVault", name.clone()),
            BackupChange::CreatePlan { name, .. } => ("CreateBackupPlan", name.clone()),
            BackupChange::UpdatePlan { plan_id, .. } => ("UpdateBackupPlan", plan_id.clone()),
            BackupChange::CreateSelection { selection, .. } => ("CreateBackupSelection", selection.name.clone()),
            BackupChange::DeleteSelection { selection_id, .. } => ("DeleteBackupSelection", selection_id.clone()),
            BackupChange::DeletePlan { plan_id, .. } => ("DeleteBackupPlan", plan_id.clone()),
            BackupChange::DeleteVault { name } => ("DeleteBackupVault", name.clone()),
        };
        self.record(CloudCall::Backup { operation, target });
        self.failure(operation)?;
        let refused = |message: &str| CloudError::new(operation, ErrorKind::InvalidRequest, message);
        let missing = |what: &str| CloudError::new(operation, ErrorKind::NotFound, format!("{what} not found"));
        match change {
            BackupChange::CreateVault { name, tags, .. } => {
                let arn = format!("arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:{name}");
                let vault = BackupVault { name: name.clone(), arn: arn.clone(), tags: tags.clone(), recovery_points: 0 };
                lock(&self.account).backup.vault = Some(vault);
                Ok(Some(arn))
            }
            BackupChange::CreatePlan { name, rules, tags, .. } => {
                let id = self.next_id("plan");
                let plan = ObservedPlan {
                    id: id.clone(),
                    arn: format!("arn:aws:backup:{REGION}:{ACCOUNT}:backup-plan:{id}"),
                    name: name.clone(),
                    version_id: self.next_id("version"),
                    tags: tags.clone(),
                    rules: rules.clone(),
                    selections: Vec::new(),
                };
                lock(&self.account).backup.plan = Some(plan);
                Ok(Some(id))
            }
            BackupChange::UpdatePlan { plan_id, rules, .. } => {
                let version = self.next_id("version");
                let mut account = lock(&self.account);
                let plan = account.backup.plan.as_mut().filter(|p| &p.id == plan_id).ok_or_else(|| missing(plan_id))?;
                plan.rules = rules.clone();
                plan.version_id = version.clone();
                Ok(Some(version))
            }
            BackupChange::CreateSelection { plan_id, selection, .. } => {
                let plan_id = plan_id.as_deref().ok_or_else(|| refused("the plan of the selection was not created"))?;
                let id = self.next_id("sel");
                let mut account = lock(&self.account);
                let plan = account.backup.plan.as_mut().filter(|p| p.id == plan_id).ok_or_else(|| missing(plan_id))?;
                plan.selections.push(Selection { id: id.clone(), ..selection.clone() });
                Ok(Some(id))
            }
            BackupChange::DeleteSelection { plan_id, selection_id, .. } => {
                let mut account = lock(&self.account);
                let plan = account.backup.plan.as_mut().filter(|p| &p.id == plan_id).ok_or_else(|| missing(plan_id))?;
                let before = plan.selections.len();
                plan.selections.retain(|s| &s.id != selection_id);
                if plan.selections.len() == before {
                    return Err(missing(selection_id));
                }
                Ok(None)
            }
            BackupChange::DeletePlan { plan_id, .. } => {
                let mut account = lock(&self.account);
                let plan = account.backup.plan.as_ref().filter(|p| &p.id == plan_id).ok_or_else(|| missing(plan_id))?;
                if !plan.selections.is_empty() {
                    return Err(refused("Related backup plan selections must be deleted prior to backup plan deletion"));
                }
                account.backup.plan = None;
                Ok(None)
            }
            BackupChange::DeleteVault { name } => {
                let mut account = lock(&self.account);
                let vault = account.backup.vault.as_ref().filter(|v| &v.name == name).ok_or_else(|| missing(name))?;
                if vault.recovery_points > 0 {
                    return Err(refused("Backup vault cannot be deleted because it contains recovery points"));
                }
                account.backup.vault = None;
                Ok(None)
            }
        }
    }
}
