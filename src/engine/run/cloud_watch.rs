//! The engine's part of the cloudWatch area.

use async_trait::async_trait;

use crate::api::validate::ValidatedPolicy;
use crate::engine::area::{ChangeResult, Run, each_in_order};
use crate::engine::areas::CloudWatch;
use crate::engine::cloud::{AreaCloud, Cloud, CloudError, ErrorKind};
use crate::plan::cloud_watch::{self, CloudWatchChange, CloudWatchPlan};
use crate::plan::conflicts::Peers;
use crate::pricing::{PriceItem, Prices};

#[async_trait]
impl Run for CloudWatch {
    const PRICES: &'static [PriceItem] = &[PriceItem::LogsGbMonth, PriceItem::AlarmMonth];

    fn desired(policy: &ValidatedPolicy) -> Option<&Self::Desired> {
        policy.cloud_watch.as_ref()
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
        now: i64,
    ) -> Self::Plan {
        let plan = cloud_watch::plan(&policy.name, &policy.aws.region, desired, inventory, now, !policy.is_audit());
        CloudWatchPlan { prices: prices.clone(), ..plan }
    }

    async fn act(cloud: &dyn Cloud, policy: &str, plan: &Self::Plan) -> Vec<ChangeResult<Self::Change>> {
        each_in_order::<Self>(policy, &plan.actions, CloudWatchChange::describe, |change| AreaCloud::<Self>::apply(cloud, policy, change))
            .await
    }

    /// An alarm already gone is what its deletion or untagging wanted.
    fn is_failure(change: &Self::Change, error: &CloudError) -> bool {
        !(error.kind == ErrorKind::NotFound
            && matches!(change, CloudWatchChange::DeleteAlarm { .. } | CloudWatchChange::UnmarkOrphan { .. }))
    }

    fn drift_count(plan: &Self::Plan) -> usize {
        plan.drift.len()
    }

    fn change_count(plan: &Self::Plan) -> usize {
        plan.drift.len()
    }

    /// Deletes this policy's alarms; retentions it set stay (logs would otherwise be kept
    /// forever). Only when the spec enables the area: a policy without it may lack the
    /// permissions, and its deletion must not wait for them.
    async fn cleanup(cloud: &dyn Cloud, policy: &ValidatedPolicy) -> Result<Vec<String>, CloudError> {
        let Some(desired) = &policy.cloud_watch else { return Ok(Vec::new()) };
        let inventory = AreaCloud::<Self>::observe(cloud, policy, desired).await?;
        let mut deleted = Vec::new();
        for change in cloud_watch::plan_cleanup(&policy.name, &inventory) {
            match AreaCloud::<Self>::apply(cloud, &policy.name, &change).await {
                Err(error) if error.kind == ErrorKind::NotFound => continue,
                other => other?,
            };
            if let CloudWatchChange::DeleteAlarm { alarm_name, .. } = change {
                deleted.push(format!("alarm {alarm_name}"));
            }
        }
        Ok(deleted)
    }

    fn action(change: &Self::Change) -> &'static str {
        match change {
            CloudWatchChange::SetRetention { .. } => "set_retention",
            CloudWatchChange::PutAlarm { reverted, .. } if reverted.is_empty() => "create_alarm",
            CloudWatchChange::PutAlarm { .. } => "revert_alarm",
            CloudWatchChange::MarkOrphan { .. } => "mark_orphan_alarm",
            CloudWatchChange::DeleteAlarm { .. } => "delete_alarm",
            CloudWatchChange::UnmarkOrphan { .. } => "unmark_orphan_alarm",
        }
    }
}
