//! The engine's part of the accessKeys area.

use async_trait::async_trait;

use crate::api::validate::ValidatedPolicy;
use crate::engine::area::{ChangeResult, Run, each_in_order};
use crate::engine::areas::AccessKeys;
use crate::engine::cloud::{AreaCloud, Cloud, CloudError, ErrorKind};
use crate::plan::access_keys::{self, AccessKeysChange};
use crate::plan::conflicts::Peers;
use crate::pricing::{PriceItem, Prices};

#[async_trait]
impl Run for AccessKeys {
    const PRICES: &'static [PriceItem] = &[];

    fn desired(policy: &ValidatedPolicy) -> Option<&Self::Desired> {
        policy.access_keys.as_ref()
    }

    async fn observe(cloud: &dyn Cloud, policy: &ValidatedPolicy, desired: &Self::Desired) -> Result<Self::Inventory, CloudError> {
        AreaCloud::<Self>::observe(cloud, policy, desired).await
    }

    /// Only the policy with the smallest name of the account acts (IAM is global).
    fn plan(
        policy: &ValidatedPolicy,
        desired: &Self::Desired,
        peers: &Peers,
        inventory: &Self::Inventory,
        _prices: &Prices,
        now: i64,
    ) -> Self::Plan {
        access_keys::plan(&policy.name, desired, inventory, now, !policy.is_audit(), peers.access_keys_managed_by.as_deref())
    }

    async fn act(cloud: &dyn Cloud, policy: &str, plan: &Self::Plan) -> Vec<ChangeResult<Self::Change>> {
        each_in_order::<Self>(policy, &plan.actions, AccessKeysChange::describe, |change| AreaCloud::<Self>::apply(cloud, policy, change))
            .await
    }

    /// A mark whose user is gone has nothing left to spare.
    fn is_failure(change: &Self::Change, error: &CloudError) -> bool {
        !(error.kind == ErrorKind::NotFound && matches!(change, AccessKeysChange::UnmarkUser { .. }))
    }

    fn drift_count(plan: &Self::Plan) -> usize {
        plan.drift.len()
    }

    fn change_count(plan: &Self::Plan) -> usize {
        plan.drift.len()
    }

    /// Removes the marks this policy set (their promised deactivation will not happen); a
    /// deactivated key stays deactivated. Only when the spec enables the area: a policy
    /// without it may have no IAM permissions, and its deletion must not wait for them.
    async fn cleanup(cloud: &dyn Cloud, policy: &ValidatedPolicy) -> Result<Vec<String>, CloudError> {
        let Some(desired) = &policy.access_keys else { return Ok(Vec::new()) };
        let inventory = AreaCloud::<Self>::observe(cloud, policy, desired).await?;
        let mut removed = Vec::new();
        for change in access_keys::plan_cleanup(&policy.name, &inventory) {
            match AreaCloud::<Self>::apply(cloud, &policy.name, &change).await {
                // The user was deleted since we looked: its marks went with it.
                Err(error) if error.kind == ErrorKind::NotFound => continue,
                other => other?,
            };
            if let AccessKeysChange::UnmarkUser { user_name, tag_keys } = change {
                removed.extend(tag_keys.into_iter().map(|tag| format!("mark {tag} of IAM user {user_name}")));
            }
        }
        Ok(removed)
    }

    fn action(change: &Self::Change) -> &'static str {
        match change {
            AccessKeysChange::MarkUser { .. } => "mark_user",
            AccessKeysChange::DeactivateKey { .. } => "deactivate_key",
            AccessKeysChange::UnmarkUser { .. } => "unmark_user",
        }
    }
}
