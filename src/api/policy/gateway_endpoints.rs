//! The `gatewayEndpoints` spec section: S3 and DynamoDB gateway endpoints in the VPCs in scope.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::TagSelector;
use crate::api::services::GatewayService;

/// Which VPCs get which gateway endpoints, and in which route tables.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!(has(self.vpcIds) && has(self.vpcSelector))", "message": "set gatewayEndpoints.vpcIds or gatewayEndpoints.vpcSelector, not both"}
]))]
pub struct GatewayEndpointsSpec {
    /// Services that get a gateway endpoint in every VPC in scope.
    #[schemars(length(min = 1, max = 2), extend("x-kubernetes-list-type" = "set"))]
    pub services: Vec<GatewayService>,

    /// VPCs in scope by tag: a VPC matches when it carries every tag given. Empty or absent (and no
    /// vpcIds): every VPC of the region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_selector: Option<TagSelector>,

    /// VPCs in scope by id, instead of vpcSelector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200), extend("x-kubernetes-list-type" = "set"))]
    pub vpc_ids: Option<Vec<VpcId>>,

    /// Route tables that must be associated with the endpoints: Private = route tables whose
    /// default route (0.0.0.0/0) goes to a NAT gateway; All = every route table of the VPC.
    #[serde(default)]
    pub route_tables: RouteTableScope,
}

/// A VPC id such as vpc-0abc1234def567890.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
#[serde(transparent)]
pub struct VpcId(#[schemars(regex(pattern = r"^vpc-[0-9a-f]{8,17}$"))] pub String);

/// Which route tables of a VPC the endpoints must be associated with.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum RouteTableScope {
    /// Route tables whose default route goes to a NAT gateway: where S3/DynamoDB traffic costs money.
    #[default]
    Private,
    /// Every route table of the VPC.
    All,
}
