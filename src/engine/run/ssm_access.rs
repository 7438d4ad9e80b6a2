//! The engine's part of the ssmAccess area.

use async_trait::async_trait;

use crate::api::validate::ValidatedPolicy;
use crate::engine::area::{ChangeResult, Run, each_in_order};
use crate::engine::areas::SsmAccess;
use crate::engine::cloud::{AreaCloud, Cloud, CloudError, ErrorKind};
use crate::plan::conflicts::Peers;
use crate::plan::ssm_access::{self, SsmAccessChange};
use crate::pricing::{PriceItem, Prices};

#[async_trait]
impl Run for SsmAccess {
    const PRICES: &'static [PriceItem] = &[];

    fn desired(policy: &ValidatedPolicy) -> Option<&Self::Desired> {
        policy.ssm_access.as_ref()
    }

    async fn observe(cloud: &dyn Cloud, policy: &ValidatedPolicy, desired: &Self::Desired) -> Result<Self::Inventory, CloudError> {
        AreaCloud::<Self>::observe(cloud, policy, desired).await
    }

    fn plan(
        policy: &ValidatedPolicy,
        desired: &Self::Desired,
        _peers: &Peers,
        inventory: &Self::Inventory,
        _prices: &Prices,
        _now: i64,
    ) -> Self::Plan {
        ssm_access::plan(&policy.name, desired, inventory, !policy.is_audit())
    }

    async fn act(cloud: &dyn Cloud, policy: &str, plan: &Self::Plan) -> Vec<ChangeResult<Self::Change>> {
        each_in_order::<Self>(policy, &plan.actions, SsmAccessChange::describe, |change| AreaCloud::<Self>::apply(cloud, policy, change))
            .await
    }

    /// A rule or key pair that is already gone is what the change wanted.
    fn is_failure(change: &Self::Change, error: &CloudError) -> bool {
        let gone = error.kind == ErrorKind::NotFound
            && matches!(change, SsmAccessChange::RevokeIngress { .. } | SsmAccessChange::DeleteKeyPair { .. });
        !gone
    }

    fn drift_count(plan: &Self::Plan) -> usize {
        plan.drift.len()
    }

    fn change_count(plan: &Self::Plan) -> usize {
        plan.drift.len()
    }

    /// Nothing is removed: the profile and role it created may be attached to instances
    /// that now depend on them for SSM.
    async fn cleanup(_cloud: &dyn Cloud, _policy: &ValidatedPolicy) -> Result<Vec<String>, CloudError> {
        Ok(Vec::new())
    }

    fn action(change: &Self::Change) -> &'static str {
        match change {
            SsmAccessChange::RevokeIngress { .. } => "revoke_ingress",
            SsmAccessChange::SplitIngress { .. } => "split_ingress",
            SsmAccessChange::CreateInstanceProfile { .. } => "create_instance_profile",
            SsmAccessChange::AttachInstanceProfile { .. } => "attach_instance_profile",
            SsmAccessChange::SetDefaultHostManagementRole { .. } => "set_default_host_management",
            SsmAccessChange::DeleteKeyPair { .. } => "delete_key_pair",
        }
    }
}
