//! The engine's part of the snapshotRetention area: tags first, one by one, then deletions
//! several at a time.

use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use futures::StreamExt;

use crate::api::validate::ValidatedPolicy;
use crate::engine::area::{ChangeResult, Run};
use crate::engine::areas::SnapshotRetention;
use crate::engine::cloud::{AreaCloud, Cloud, CloudError, ErrorKind};
use crate::plan::conflicts::Peers;
use crate::plan::snapshot_retention::{self, SnapshotRetentionChange, SnapshotRetentionPlan};
use crate::pricing::{PriceItem, Prices};

#[async_trait]
impl Run for SnapshotRetention {
    const PRICES: &'static [PriceItem] = &[PriceItem::SnapshotGbMonth];

    fn desired(policy: &ValidatedPolicy) -> Option<&Self::Desired> {
        policy.snapshot_retention.as_ref()
    }

    async fn observe(cloud: &dyn Cloud, policy: &ValidatedPolicy, desired: &Self::Desired) -> Result<Self::Inventory, CloudError> {
        AreaCloud::<Self>::observe(cloud, policy, desired).await
    }

    fn plan(
        policy: &ValidatedPolicy,
        desired: &Self::Desired,
        peers: &Peers,
        inventory: &Self::Inventory,
        prices: &Prices,
        now: i64,
    ) -> Self::Plan {
        let plan = snapshot_retention::plan_with_peers(desired, &peers.snapshot_retention, inventory, now, !policy.is_audit());
        SnapshotRetentionPlan { prices: prices.clone(), ..plan }
    }

    async fn act(cloud: &dyn Cloud, policy: &str, plan: &Self::Plan) -> Vec<ChangeResult<Self::Change>> {
        act_on_snapshots(cloud, policy, &plan.actions).await
    }

    /// A refused delete (in use, made by AWS Backup, locked) is a protection, a vanished
    /// snapshot is already gone, and throttling waits for the next run: none is a failure.
    fn is_failure(_change: &Self::Change, error: &CloudError) -> bool {
        !matches!(error.kind, ErrorKind::Protected(_) | ErrorKind::Throttled | ErrorKind::NotFound)
    }

    /// Snapshots to change and those waiting for their grace period.
    fn drift_count(plan: &Self::Plan) -> usize {
        plan.findings() as usize
    }

    fn change_count(plan: &Self::Plan) -> usize {
        plan.drift.len()
    }

    /// Nothing to remove: the area creates nothing but tags on snapshots it governs.
    async fn cleanup(_cloud: &dyn Cloud, _policy: &ValidatedPolicy) -> Result<Vec<String>, CloudError> {
        Ok(Vec::new())
    }

    fn action(change: &Self::Change) -> &'static str {
        match change {
            SnapshotRetentionChange::TagExpiring { .. } => "tag_expiring",
            SnapshotRetentionChange::RemoveExpiringTag { .. } => "remove_expiring_tag",
            SnapshotRetentionChange::Delete { .. } => "delete_snapshot",
        }
    }
}

const CONCURRENT_SNAPSHOT_DELETES: usize = 8;

/// The snapshot changes: tags first, one by one and in order, then the deletions, several at
/// a time. An untagged snapshot is never deleted (safety rule 3), so a failed tag call stops
/// every deletion (grace 0s tags and deletes in one run); a deletion still throttled after
/// the SDK's retries stops the ones not yet started, which wait for the next run.
async fn act_on_snapshots(
    cloud: &dyn Cloud,
    policy: &str,
    actions: &[SnapshotRetentionChange],
) -> Vec<ChangeResult<SnapshotRetentionChange>> {
    let mut results = Vec::new();
    let (deletes, tags): (Vec<&SnapshotRetentionChange>, Vec<&SnapshotRetentionChange>) =
        actions.iter().partition(|c| matches!(c, SnapshotRetentionChange::Delete { .. }));
    for change in tags {
        let outcome = AreaCloud::<SnapshotRetention>::apply(cloud, policy, change).await;
        let failed = outcome.is_err();
        if let Err(error) = &outcome {
            tracing::warn!(%policy, change = %change.describe(), %error, "snapshot change not made");
        }
        results.push(ChangeResult { change: change.clone(), outcome });
        if failed {
            return results;
        }
    }
    let throttled = AtomicBool::new(false);
    // Owned changes, and futures made by an iterator: a stream closure over borrowed items
    // would not be Send for every lifetime the controller's executor asks for.
    let deletions = deletes.into_iter().cloned().map(|change| delete_snapshot(cloud, policy, &throttled, change));
    let deleted: Vec<ChangeResult<SnapshotRetentionChange>> =
        futures::stream::iter(deletions).buffered(CONCURRENT_SNAPSHOT_DELETES).filter_map(std::future::ready).collect().await;
    results.extend(deleted);
    results
}

/// One deletion, unless an earlier one was throttled (then None: not attempted).
async fn delete_snapshot(
    cloud: &dyn Cloud,
    policy: &str,
    throttled: &AtomicBool,
    change: SnapshotRetentionChange,
) -> Option<ChangeResult<SnapshotRetentionChange>> {
    if throttled.load(Ordering::SeqCst) {
        return None;
    }
    let outcome = AreaCloud::<SnapshotRetention>::apply(cloud, policy, &change).await;
    if let Err(error) = &outcome {
        if error.kind == ErrorKind::Throttled {
            throttled.store(true, Ordering::SeqCst);
        }
        tracing::warn!(%policy, change = %change.describe(), %error, "snapshot change not made");
    }
    Some(ChangeResult { change, outcome })
}
