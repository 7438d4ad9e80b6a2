//! `status.gatewayEndpoints`: what the gatewayEndpoints area found and did.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::services::GatewayService;

/// Gateway endpoints of the VPCs in scope.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayEndpointsStatus {
    /// Changes still needed in this area (drift the last run did not fix).
    pub findings: u32,
    /// VPCs the policy selects.
    pub vpcs_in_scope: u32,
    /// Gateway endpoints that do not exist yet.
    pub missing_endpoints: u32,
    /// Route tables in scope not yet associated with the service's endpoint.
    pub missing_route_table_associations: u32,
    /// Endpoints created by the last reconcile.
    pub endpoints_created: u32,
    /// Route table associations added by the last reconcile.
    pub route_tables_associated: u32,
    /// Endpoints the policy did not create but uses (route tables may be added to them).
    pub adopted_endpoints: u32,
    /// Per-VPC detail, at most 50 entries; vpcsNotListed counts the rest.
    #[serde(default)]
    pub vpcs: Vec<VpcEndpointsStatus>,
    /// VPCs in scope beyond the listed ones.
    #[serde(default)]
    pub vpcs_not_listed: u32,
}

/// Endpoints of one VPC.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpcEndpointsStatus {
    /// The VPC id.
    pub vpc_id: String,
    /// One entry per requested service.
    #[serde(default)]
    pub endpoints: Vec<EndpointStatus>,
    /// Monthly NAT gateway data-processing charge of this VPC over the last 30 days, in USD: the
    /// upper bound of what the endpoints save. Absent when CloudWatch has no NAT metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_data_processing_monthly_usd: Option<String>,
}

/// The gateway endpoint of one service in one VPC.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointStatus {
    /// s3 or dynamodb.
    pub service: GatewayService,
    /// The endpoint id; absent while the endpoint is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    /// Managed (created by this policy), Adopted (created by someone else, used as is) or Missing.
    pub ownership: EndpointOwnership,
    /// Route tables in scope that the endpoint does not cover yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route_tables_missing: Vec<String>,
}

/// Who owns a gateway endpoint.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum EndpointOwnership {
    /// Created by this policy (tagged with its name).
    Managed,
    /// Created by someone else; the policy only adds route tables to it.
    Adopted,
    /// No endpoint exists yet.
    Missing,
}
