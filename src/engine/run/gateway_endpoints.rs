//! The engine's part of the gatewayEndpoints area.

use async_trait::async_trait;

use crate::api::validate::ValidatedPolicy;
use crate::engine::area::{ChangeResult, Run, each_in_order};
use crate::engine::areas::GatewayEndpoints;
use crate::engine::cloud::{AreaCloud, Cloud, CloudError, ErrorKind};
use crate::plan::conflicts::Peers;
use crate::plan::gateway_endpoints::{self, GatewayEndpointsChange};
use crate::pricing::{PriceItem, Prices};

#[async_trait]
impl Run for GatewayEndpoints {
    const PRICES: &'static [PriceItem] = &[PriceItem::NatGatewayGb];

    fn desired(policy: &ValidatedPolicy) -> Option<&Self::Desired> {
        policy.gateway_endpoints.as_ref()
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
        _now: i64,
    ) -> Self::Plan {
        gateway_endpoints::plan_with_peers(
            &policy.name,
            &policy.aws.region,
            desired,
            &peers.gateway_yield_to,
            inventory,
            prices,
            !policy.is_audit(),
        )
    }

    async fn act(cloud: &dyn Cloud, policy: &str, plan: &Self::Plan) -> Vec<ChangeResult<Self::Change>> {
        each_in_order::<Self>(policy, &plan.actions, GatewayEndpointsChange::describe, |change| {
            AreaCloud::<Self>::apply(cloud, policy, change)
        })
        .await
    }

    fn is_failure(_change: &Self::Change, _error: &CloudError) -> bool {
        true
    }

    fn drift_count(plan: &Self::Plan) -> usize {
        plan.drift.len()
    }

    fn change_count(plan: &Self::Plan) -> usize {
        plan.drift.len()
    }

    /// Deletes the endpoints tagged as this policy's (and with them their routes).
    async fn cleanup(cloud: &dyn Cloud, policy: &ValidatedPolicy) -> Result<Vec<String>, CloudError> {
        let owned = cloud.owned_gateway_endpoints(&policy.name).await?;
        let ids = gateway_endpoints::plan_cleanup(&policy.name, &owned);
        if !ids.is_empty() {
            match cloud.delete_gateway_endpoints(&ids).await {
                // Someone deleted them since we listed them: what cleanup wanted.
                Err(error) if error.kind == ErrorKind::NotFound => {}
                other => other?,
            }
        }
        Ok(ids.iter().map(|id| format!("gateway endpoint {id}")).collect())
    }

    fn action(change: &Self::Change) -> &'static str {
        match change {
            GatewayEndpointsChange::CreateEndpoint { .. } => "create_endpoint",
            GatewayEndpointsChange::AddRouteTables { .. } => "add_route_tables",
        }
    }
}
