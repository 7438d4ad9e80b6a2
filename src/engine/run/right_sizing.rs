//! The engine's part of the rightSizing area.

use async_trait::async_trait;

use crate::api::validate::ValidatedPolicy;
use crate::engine::area::{ChangeResult, Run, each_in_order};
use crate::engine::areas::RightSizing;
use crate::engine::cloud::{AreaCloud, Cloud, CloudError};
use crate::plan::conflicts::Peers;
use crate::plan::right_sizing::{self, RightSizingChange};
use crate::pricing::{PriceItem, Prices};

#[async_trait]
impl Run for RightSizing {
    const PRICES: &'static [PriceItem] = &[];

    fn desired(policy: &ValidatedPolicy) -> Option<&Self::Desired> {
        policy.right_sizing.as_ref()
    }

    async fn observe(cloud: &dyn Cloud, policy: &ValidatedPolicy, desired: &Self::Desired) -> Result<Self::Inventory, CloudError> {
        AreaCloud::<Self>::observe(cloud, policy, desired).await
    }

    /// Enrolling twice is harmless, so policies of one account need no conflict rule.
    fn plan(
        policy: &ValidatedPolicy,
        desired: &Self::Desired,
        _peers: &Peers,
        inventory: &Self::Inventory,
        _prices: &Prices,
        _now: i64,
    ) -> Self::Plan {
        right_sizing::plan(desired, inventory, !policy.is_audit())
    }

    async fn act(cloud: &dyn Cloud, policy: &str, plan: &Self::Plan) -> Vec<ChangeResult<Self::Change>> {
        each_in_order::<Self>(policy, &plan.actions, RightSizingChange::describe, |change| AreaCloud::<Self>::apply(cloud, policy, change))
            .await
    }

    fn is_failure(_change: &Self::Change, _error: &CloudError) -> bool {
        true
    }

    /// The enrollment; opportunities are findings for a person, not drift.
    fn drift_count(plan: &Self::Plan) -> usize {
        plan.drift.len()
    }

    fn change_count(plan: &Self::Plan) -> usize {
        plan.drift.len()
    }

    /// The account stays enrolled: opting out deletes Compute Optimizer's data and history,
    /// and other policies or people may rely on it.
    async fn cleanup(_cloud: &dyn Cloud, _policy: &ValidatedPolicy) -> Result<Vec<String>, CloudError> {
        Ok(Vec::new())
    }

    fn action(change: &Self::Change) -> &'static str {
        match change {
            RightSizingChange::Enroll { .. } => "enroll",
        }
    }
}
