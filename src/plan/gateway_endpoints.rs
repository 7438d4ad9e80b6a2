//! Gateway endpoints: one per requested service in every VPC in scope, associated with the
//! route tables in scope. Safety rules enforced here: Audit plans no change; an existing
//! endpoint (ours or not) is never duplicated; associations are only ever added (rule 5);
//! every create carries an idempotency token (rule 6).

use std::collections::{BTreeMap, BTreeSet};

use crate::api::validate::{GatewayEndpointsDesired, VpcScope};
use crate::api::{GatewayService, RouteTableScope};
use crate::pricing::{PriceItem, Prices};

use super::token::idempotency_token;
use super::{Tags, is_owned_by, ownership_tags};

const BYTES_PER_GB: f64 = 1_073_741_824.0;

/// What the account holds, as far as gateway endpoints are concerned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GatewayEndpointsInventory {
    pub vpcs: Vec<Vpc>,
    pub route_tables: Vec<RouteTable>,
    pub endpoints: Vec<GatewayEndpoint>,
    /// Bytes processed by each VPC's NAT gateways over the last 30 days; `None` when the
    /// metrics could not be read (estimates are then omitted, actions are unaffected).
    pub nat_bytes_30d: Option<BTreeMap<String, u64>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Vpc {
    pub id: String,
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RouteTable {
    pub id: String,
    pub vpc_id: String,
    pub routes: Vec<Route>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub destination_cidr: Option<String>,
    pub nat_gateway_id: Option<String>,
    /// `active` or `blackhole`.
    pub state: String,
}

impl RouteTable {
    /// A private route table sends its default route to a NAT gateway: its S3 and DynamoDB
    /// traffic pays NAT data processing.
    pub fn is_private(&self) -> bool {
        self.routes
            .iter()
            .any(|r| r.destination_cidr.as_deref() == Some("0.0.0.0/0") && r.nat_gateway_id.is_some() && r.state != "blackhole")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct GatewayEndpoint {
    pub id: String,
    pub vpc_id: String,
    pub service_name: String,
    /// AWS state, e.g. available, pending, deleting, deleted.
    pub state: String,
    pub route_table_ids: BTreeSet<String>,
    pub tags: Tags,
}

impl GatewayEndpoint {
    /// Endpoints being deleted or gone do not count as present.
    pub fn is_live(&self) -> bool {
        !matches!(self.state.to_ascii_lowercase().as_str(), "deleting" | "deleted" | "failed" | "rejected" | "expired")
    }
}

/// A change to AWS that brings one VPC closer to the spec.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum GatewayEndpointsChange {
    /// Create the service's gateway endpoint, associated with these route tables.
    CreateEndpoint {
        vpc_id: String,
        service: GatewayService,
        service_name: String,
        route_table_ids: Vec<String>,
        #[serde(skip)]
        client_token: String,
        #[serde(skip)]
        tags: Tags,
    },
    /// Associate route tables with an existing endpoint (ModifyVpcEndpoint AddRouteTableIds).
    AddRouteTables { endpoint_id: String, vpc_id: String, service: GatewayService, route_table_ids: Vec<String> },
}

impl GatewayEndpointsChange {
    pub fn vpc_id(&self) -> &str {
        match self {
            GatewayEndpointsChange::CreateEndpoint { vpc_id, .. } | GatewayEndpointsChange::AddRouteTables { vpc_id, .. } => vpc_id,
        }
    }

    /// One line for CLI output and Events.
    pub fn describe(&self) -> String {
        match self {
            GatewayEndpointsChange::CreateEndpoint { vpc_id, service, route_table_ids, .. } => {
                format!("create {service} gateway endpoint in {vpc_id} with route tables {}", route_table_ids.join(", "))
            }
            GatewayEndpointsChange::AddRouteTables { endpoint_id, vpc_id, service, route_table_ids } => {
                format!("add route tables {} to {service} endpoint {endpoint_id} in {vpc_id}", route_table_ids.join(", "))
            }
        }
    }
}

/// The plan for one policy's gatewayEndpoints section.
#[derive(Clone, Debug, PartialEq)]
pub struct GatewayEndpointsPlan {
    /// Every change that would bring the account in line with the spec.
    pub drift: Vec<GatewayEndpointsChange>,
    /// The changes to execute: the drift in Enforce mode, nothing in Audit mode.
    pub actions: Vec<GatewayEndpointsChange>,
    pub vpcs: Vec<VpcReport>,
    /// VPCs in scope left to a conflicting policy with a smaller name: (VPC id, that policy).
    pub yielded: Vec<(String, String)>,
    /// The run's prices: what the NAT gateway charges per GB.
    pub prices: Prices,
}

/// What was found in one VPC.
#[derive(Clone, Debug, PartialEq)]
pub struct VpcReport {
    pub vpc_id: String,
    pub services: Vec<ServiceReport>,
    /// Upper bound of the monthly NAT data-processing charge the endpoints can save.
    pub nat_monthly_usd: Option<f64>,
}

/// Who owns a service's endpoint in a VPC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// Created by this policy (tagged with its name).
    Managed,
    /// Created by someone else; the policy only adds route tables to it.
    Adopted,
    /// No endpoint exists yet.
    Missing,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServiceReport {
    pub service: GatewayService,
    pub endpoint_id: Option<String>,
    pub ownership: Ownership,
    pub route_tables_missing: Vec<String>,
}

impl GatewayEndpointsPlan {
    pub fn missing_endpoints(&self) -> usize {
        self.drift.iter().filter(|c| matches!(c, GatewayEndpointsChange::CreateEndpoint { .. })).count()
    }

    /// Route tables in scope not associated with their service's endpoint (also where the
    /// endpoint itself is missing).
    pub fn missing_associations(&self) -> usize {
        self.vpcs.iter().flat_map(|v| &v.services).map(|s| s.route_tables_missing.len()).sum()
    }

    pub fn adopted_endpoints(&self) -> usize {
        self.vpcs.iter().flat_map(|v| &v.services).filter(|s| s.ownership == Ownership::Adopted).count()
    }

    /// Findings: one per change needed.
    pub fn findings(&self) -> usize {
        self.drift.len()
    }

    /// Monthly NAT charge of the VPCs that still have drift: the waste found.
    pub fn monthly_waste_usd(&self) -> f64 {
        let drifted: BTreeSet<&str> = self.drift.iter().map(GatewayEndpointsChange::vpc_id).collect();
        self.vpcs.iter().filter(|v| drifted.contains(v.vpc_id.as_str())).filter_map(|v| v.nat_monthly_usd).sum()
    }
}

/// Plans the gateway endpoints of one policy. `enforce` false is Audit mode.
pub fn plan(
    policy: &str,
    region: &str,
    desired: &GatewayEndpointsDesired,
    inventory: &GatewayEndpointsInventory,
    enforce: bool,
) -> GatewayEndpointsPlan {
    plan_with_peers(policy, region, desired, &[], inventory, &Prices::default(), enforce)
}

/// Plans the gateway endpoints of one policy next to conflicting policies with a smaller name
/// (`yield_to`: their names and VPC scopes). A VPC in one of their scopes is theirs to act
/// on: this policy plans nothing there, so two policies never race to create its endpoints.
pub fn plan_with_peers(
    policy: &str,
    region: &str,
    desired: &GatewayEndpointsDesired,
    yield_to: &[(String, VpcScope)],
    inventory: &GatewayEndpointsInventory,
    prices: &Prices,
    enforce: bool,
) -> GatewayEndpointsPlan {
    let mut route_tables_by_vpc: BTreeMap<&str, Vec<&RouteTable>> = BTreeMap::new();
    for rt in &inventory.route_tables {
        route_tables_by_vpc.entry(rt.vpc_id.as_str()).or_default().push(rt);
    }
    let mut vpcs_in_scope: Vec<&Vpc> = inventory.vpcs.iter().filter(|v| desired.vpcs.includes(&v.id, &v.tags)).collect();
    vpcs_in_scope.sort_by(|a, b| a.id.cmp(&b.id));
    vpcs_in_scope.dedup_by(|a, b| a.id == b.id);

    let mut drift = Vec::new();
    let mut vpcs = Vec::new();
    let mut yielded = Vec::new();
    for vpc in vpcs_in_scope {
        if let Some((other, _)) = yield_to.iter().find(|(_, scope)| scope.includes(&vpc.id, &vpc.tags)) {
            yielded.push((vpc.id.clone(), other.clone()));
            continue;
        }
        let tables = route_tables_by_vpc.get(vpc.id.as_str()).map(Vec::as_slice).unwrap_or_default();
        let wanted: BTreeSet<&str> =
            tables.iter().filter(|rt| desired.route_tables == RouteTableScope::All || rt.is_private()).map(|rt| rt.id.as_str()).collect();
        let mut services = Vec::new();
        for &service in &desired.services {
            let service_name = service.service_name(region);
            let existing: Vec<&GatewayEndpoint> =
                inventory.endpoints.iter().filter(|e| e.vpc_id == vpc.id && e.service_name == service_name && e.is_live()).collect();
            // A route table can hold only one gateway endpoint per service: covered by any of them is covered.
            let covered: BTreeSet<&str> = existing.iter().flat_map(|e| e.route_table_ids.iter().map(String::as_str)).collect();
            let missing: Vec<String> = wanted.difference(&covered).map(|s| s.to_string()).collect();
            let report = match choose_endpoint(&existing, policy) {
                Some(endpoint) => {
                    if !missing.is_empty() {
                        drift.push(GatewayEndpointsChange::AddRouteTables {
                            endpoint_id: endpoint.id.clone(),
                            vpc_id: vpc.id.clone(),
                            service,
                            route_table_ids: missing.clone(),
                        });
                    }
                    let ownership = if is_owned_by(&endpoint.tags, policy) { Ownership::Managed } else { Ownership::Adopted };
                    ServiceReport { service, endpoint_id: Some(endpoint.id.clone()), ownership, route_tables_missing: missing }
                }
                None => {
                    let gone: Vec<&str> = inventory
                        .endpoints
                        .iter()
                        .filter(|e| e.vpc_id == vpc.id && e.service_name == service_name && !e.is_live())
                        .map(|e| e.id.as_str())
                        .collect();
                    drift.push(create_endpoint(policy, &vpc.id, service, service_name, &missing, &gone));
                    ServiceReport { service, endpoint_id: None, ownership: Ownership::Missing, route_tables_missing: missing }
                }
            };
            services.push(report);
        }
        let nat_usd_per_gb = prices.usd(PriceItem::NatGatewayGb);
        // In whole cents, as shown: the per-VPC figures then add up to the total shown.
        let nat_monthly_usd = inventory
            .nat_bytes_30d
            .as_ref()
            .map(|bytes| (bytes.get(&vpc.id).copied().unwrap_or(0) as f64 / BYTES_PER_GB * nat_usd_per_gb * 100.0).round() / 100.0);
        vpcs.push(VpcReport { vpc_id: vpc.id.clone(), services, nat_monthly_usd });
    }
    let actions = if enforce { drift.clone() } else { Vec::new() };
    GatewayEndpointsPlan { drift, actions, vpcs, yielded, prices: prices.clone() }
}

/// With several live endpoints for one service (made by hand), ours is preferred, then the
/// lowest id, so the choice is stable from run to run.
fn choose_endpoint<'a>(existing: &[&'a GatewayEndpoint], policy: &str) -> Option<&'a GatewayEndpoint> {
    existing.iter().copied().min_by_key(|e| (!is_owned_by(&e.tags, policy), e.id.clone()))
}

fn create_endpoint(
    policy: &str,
    vpc_id: &str,
    service: GatewayService,
    service_name: String,
    route_tables: &[String],
    gone: &[&str],
) -> GatewayEndpointsChange {
    // The token covers everything the request carries, plus the endpoints of ours that were
    // deleted since: AWS would answer a reused token with the deleted endpoint.
    let mut parts = vec!["gateway-endpoint", policy, vpc_id, service.as_str()];
    parts.extend(route_tables.iter().map(String::as_str));
    parts.push("|");
    parts.extend(gone);
    GatewayEndpointsChange::CreateEndpoint {
        vpc_id: vpc_id.to_string(),
        service,
        service_name,
        route_table_ids: route_tables.to_vec(),
        client_token: idempotency_token(&parts),
        tags: ownership_tags(policy),
    }
}

/// Endpoints to delete when a policy with deletionPolicy Delete goes away: only those tagged
/// as created by this very policy, never adopted ones.
pub fn plan_cleanup(policy: &str, endpoints: &[GatewayEndpoint]) -> Vec<String> {
    let mut ids: Vec<String> = endpoints.iter().filter(|e| e.is_live() && is_owned_by(&e.tags, policy)).map(|e| e.id.clone()).collect();
    ids.sort();
    ids
}

#[cfg(test)]
mod tests;
