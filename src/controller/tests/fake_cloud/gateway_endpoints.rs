//! The in-memory account's VPCs, route tables and gateway endpoints.

use async_trait::async_trait;

use super::{CloudCall, FakeCloud, lock};
use crate::api::validate::{GatewayEndpointsDesired, ValidatedPolicy};
use crate::engine::areas::GatewayEndpoints;
use crate::engine::{AreaCloud, CloudError, ErrorKind, GatewayEndpointsCleanup};
use crate::plan::gateway_endpoints::{GatewayEndpoint, GatewayEndpointsChange, GatewayEndpointsInventory};
use crate::plan::ownership_tags;

#[async_trait]
impl AreaCloud<GatewayEndpoints> for FakeCloud {
    async fn observe(
        &self,
        _policy: &ValidatedPolicy,
        _desired: &GatewayEndpointsDesired,
    ) -> Result<GatewayEndpointsInventory, CloudError> {
        self.record(CloudCall::ObserveGatewayEndpoints);
        if let Some(error) = &self.fail_observe {
            return Err(error.clone());
        }
        let account = lock(&self.account);
        Ok(GatewayEndpointsInventory {
            vpcs: account.vpcs.clone(),
            route_tables: account.route_tables.clone(),
            endpoints: account.endpoints.clone(),
            nat_bytes_30d: Some(account.vpcs.iter().map(|v| (v.id.clone(), 100 * 1_073_741_824)).collect()),
        })
    }

    async fn apply(&self, _policy: &str, change: &GatewayEndpointsChange) -> Result<Option<String>, CloudError> {
        match change {
            GatewayEndpointsChange::CreateEndpoint { vpc_id, service, service_name, route_table_ids, tags, .. } => {
                self.record(CloudCall::CreateEndpoint {
                    vpc_id: vpc_id.clone(),
                    service: *service,
                    route_table_ids: route_table_ids.clone(),
                });
                let mut account = lock(&self.account);
                account.created += 1;
                let id = format!("vpce-fake{:04}", account.created);
                account.endpoints.push(GatewayEndpoint {
                    id: id.clone(),
                    vpc_id: vpc_id.clone(),
                    service_name: service_name.clone(),
                    state: "available".to_string(),
                    route_table_ids: route_table_ids.iter().cloned().collect(),
                    tags: tags.clone(),
                });
                Ok(Some(id))
            }
            GatewayEndpointsChange::AddRouteTables { endpoint_id, route_table_ids, .. } => {
                self.record(CloudCall::AddRouteTables { endpoint_id: endpoint_id.clone(), route_table_ids: route_table_ids.clone() });
                let mut account = lock(&self.account);
                let endpoint = account.endpoints.iter_mut().find(|e| &e.id == endpoint_id);
                let endpoint = endpoint
                    .ok_or_else(|| CloudError::new("ModifyVpcEndpoint", ErrorKind::NotFound, format!("{endpoint_id} not found")))?;
                endpoint.route_table_ids.extend(route_table_ids.iter().cloned());
                Ok(None)
            }
        }
    }
}

#[async_trait]
impl GatewayEndpointsCleanup for FakeCloud {
    async fn owned_gateway_endpoints(&self, policy: &str) -> Result<Vec<GatewayEndpoint>, CloudError> {
        self.record(CloudCall::OwnedEndpoints { policy: policy.to_string() });
        let owned = ownership_tags(policy);
        let account = lock(&self.account);
        Ok(account.endpoints.iter().filter(|e| owned.iter().all(|(k, v)| e.tags.get(k) == Some(v))).cloned().collect())
    }

    async fn delete_gateway_endpoints(&self, ids: &[String]) -> Result<(), CloudError> {
        self.record(CloudCall::DeleteEndpoints { ids: ids.to_vec() });
        if let Some(error) = &self.fail_delete {
            return Err(error.clone());
        }
        lock(&self.account).endpoints.retain(|e| !ids.contains(&e.id));
        Ok(())
    }
}
