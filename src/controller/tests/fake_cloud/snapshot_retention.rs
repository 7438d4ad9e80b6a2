//! The in-memory account's snapshots.

use async_trait::async_trait;

use super::{CloudCall, FakeCloud, lock};
use crate::api::names::TAG_EXPIRES_AT;
use crate::api::validate::{SnapshotRetentionDesired, ValidatedPolicy};
use crate::engine::areas::SnapshotRetention;
use crate::engine::{AreaCloud, CloudError};
use crate::plan::snapshot_retention::{SnapshotRetentionChange, SnapshotRetentionInventory};

#[async_trait]
impl AreaCloud<SnapshotRetention> for FakeCloud {
    /// The account's snapshots: none unless a test seeds them.
    async fn observe(
        &self,
        _policy: &ValidatedPolicy,
        _desired: &SnapshotRetentionDesired,
    ) -> Result<SnapshotRetentionInventory, CloudError> {
        self.record(CloudCall::ObserveSnapshots);
        if let Some(error) = &self.fail_observe_snapshots {
            return Err(error.clone());
        }
        Ok(lock(&self.account).snapshots.clone())
    }

    async fn apply(&self, _policy: &str, change: &SnapshotRetentionChange) -> Result<Option<String>, CloudError> {
        self.record(CloudCall::SnapshotRetentionChange(change.describe()));
        let mut account = lock(&self.account);
        let snapshots = std::sync::Arc::make_mut(&mut account.snapshots.snapshots);
        match change {
            SnapshotRetentionChange::TagExpiring { snapshot_ids, expires_at } => {
                for s in snapshots.iter_mut().filter(|s| snapshot_ids.contains(&s.id)) {
                    s.tags.insert(TAG_EXPIRES_AT.to_string(), expires_at.clone());
                }
            }
            SnapshotRetentionChange::RemoveExpiringTag { snapshot_ids } => {
                for s in snapshots.iter_mut().filter(|s| snapshot_ids.contains(&s.id)) {
                    s.tags.remove(TAG_EXPIRES_AT);
                }
            }
            SnapshotRetentionChange::Delete { snapshot_id, .. } => snapshots.retain(|s| &s.id != snapshot_id),
        }
        Ok(None)
    }
}
