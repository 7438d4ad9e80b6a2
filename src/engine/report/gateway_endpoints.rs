//! Status, condition and cost of the gatewayEndpoints area.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::conditions::{self, ConditionUpdate, reason};
use crate::api::{
    AreaCost, AreaName, CostPolicyStatus, EndpointOwnership, EndpointStatus, GatewayEndpointsStatus, VpcEndpointsStatus, usd,
};
use crate::engine::areas::GatewayEndpoints;
use crate::engine::{AreaKind, AreaOutcome, AreaPlan, Report};
use crate::plan::gateway_endpoints::{GatewayEndpointsChange, GatewayEndpointsPlan, Ownership};
use crate::pricing::PriceItem;

/// At most this many VPCs are listed in status; the rest are counted.
pub const MAX_LISTED_VPCS: usize = 50;

const AREA: &str = AreaName::GatewayEndpoints.key();

impl Report for GatewayEndpoints {
    fn status_of(status: &CostPolicyStatus) -> Option<&Self::Status> {
        status.gateway_endpoints.as_ref()
    }

    fn status_slot(status: &mut CostPolicyStatus) -> &mut Option<Self::Status> {
        &mut status.gateway_endpoints
    }

    fn findings(status: &Self::Status) -> u32 {
        status.findings
    }

    fn details(plan: &Self::Plan, outcome: &AreaOutcome<Self>, _previous: Option<&Self::Status>, _now: &Time) -> (Self::Status, AreaCost) {
        details(plan, outcome)
    }

    fn condition(outcome: &AreaOutcome<Self>, _status: Option<&Self::Status>, audit: bool) -> ConditionUpdate {
        condition(outcome, audit)
    }

    /// Names the VPCs left to another policy: the one with the smallest name acts on them.
    fn conflict_message(others: &[&str], outcome: &AreaOutcome<Self>) -> String {
        let mut message = format!("{} governs the same VPCs as CostPolicy {}", Self::NAME, others.join(", "));
        if let AreaPlan::Planned(plan) = &outcome.plan {
            let left: Vec<String> = plan.yielded.iter().map(|(vpc, other)| format!("{vpc} to {other}")).collect();
            if !left.is_empty() {
                message.push_str(&format!(": left unchanged, for the policy with the smallest name: {}", left.join(", ")));
            }
        }
        message
    }
}

fn condition(outcome: &AreaOutcome<GatewayEndpoints>, audit: bool) -> ConditionUpdate {
    let type_ = conditions::GATEWAY_ENDPOINTS_IN_SYNC;
    let plan = match &outcome.plan {
        AreaPlan::ObservationFailed(error) => {
            return ConditionUpdate::new(type_, false, reason::OBSERVATION_FAILED, format!("{error}; nothing was changed in this area"));
        }
        AreaPlan::Planned(plan) => plan,
    };
    let failures: Vec<String> = outcome.failed_changes().map(|(change, error)| format!("{}: {error}", change.describe())).collect();
    if !failures.is_empty() {
        return ConditionUpdate::new(
            type_,
            false,
            reason::ACTION_FAILED,
            format!("{} of {} changes failed: {}", failures.len(), outcome.results.len(), failures.join("; ")),
        );
    }
    if plan.drift.is_empty() {
        return ConditionUpdate::new(
            type_,
            true,
            reason::IN_SYNC,
            format!("{} VPCs have every endpoint and route table association", plan.vpcs.len()),
        );
    }
    let summary = format!("{} endpoints and {} route table associations missing", plan.missing_endpoints(), plan.missing_associations());
    if audit {
        ConditionUpdate::new(type_, false, reason::DRIFT_FOUND, format!("Audit mode: {summary}; nothing was changed"))
    } else {
        ConditionUpdate::new(type_, true, reason::RECONCILED, format!("fixed: {summary}"))
    }
}

/// The area's status block and its cost, after the act step.
fn details(plan: &GatewayEndpointsPlan, outcome: &AreaOutcome<GatewayEndpoints>) -> (GatewayEndpointsStatus, AreaCost) {
    let mut vpcs: Vec<VpcEndpointsStatus> = plan
        .vpcs
        .iter()
        .map(|v| VpcEndpointsStatus {
            vpc_id: v.vpc_id.clone(),
            endpoints: v
                .services
                .iter()
                .map(|s| EndpointStatus {
                    service: s.service,
                    endpoint_id: s.endpoint_id.clone(),
                    ownership: match s.ownership {
                        Ownership::Managed => EndpointOwnership::Managed,
                        Ownership::Adopted => EndpointOwnership::Adopted,
                        Ownership::Missing => EndpointOwnership::Missing,
                    },
                    route_tables_missing: s.route_tables_missing.clone(),
                })
                .collect(),
            nat_data_processing_monthly_usd: v.nat_monthly_usd.map(usd),
        })
        .collect();

    let mut created = 0u32;
    let mut associated = 0u32;
    let mut changed_vpcs = BTreeSet::new();
    for result in &outcome.results {
        let Ok(new_id) = &result.outcome else { continue };
        let (vpc_id, service, tables) = match &result.change {
            GatewayEndpointsChange::CreateEndpoint { vpc_id, service, route_table_ids, .. } => {
                created += 1;
                (vpc_id, *service, route_table_ids)
            }
            GatewayEndpointsChange::AddRouteTables { vpc_id, service, route_table_ids, .. } => (vpc_id, *service, route_table_ids),
        };
        associated += tables.len() as u32;
        changed_vpcs.insert(vpc_id.clone());
        if let Some(endpoint) =
            vpcs.iter_mut().filter(|v| &v.vpc_id == vpc_id).flat_map(|v| v.endpoints.iter_mut()).find(|e| e.service == service)
        {
            endpoint.route_tables_missing.retain(|rt| !tables.contains(rt));
            if let Some(id) = new_id {
                endpoint.endpoint_id = Some(id.clone());
                endpoint.ownership = EndpointOwnership::Managed;
            }
        }
    }

    let missing_endpoints = vpcs.iter().flat_map(|v| &v.endpoints).filter(|e| e.ownership == EndpointOwnership::Missing).count() as u32;
    let missing_associations = vpcs.iter().flat_map(|v| &v.endpoints).map(|e| e.route_tables_missing.len() as u32).sum::<u32>();
    let open_findings = outcome.results.iter().filter(|r| r.outcome.is_err()).count() as u32
        + if outcome.results.is_empty() { plan.drift.len() as u32 } else { 0 };

    let mut waste = 0.0;
    let mut savings = 0.0;
    for (report, listed) in plan.vpcs.iter().zip(&vpcs) {
        let Some(monthly) = report.nat_monthly_usd else { continue };
        let drifted = listed.endpoints.iter().any(|e| e.ownership == EndpointOwnership::Missing || !e.route_tables_missing.is_empty());
        let ours = listed.endpoints.iter().any(|e| e.ownership == EndpointOwnership::Managed);
        if drifted {
            waste += monthly;
        } else if ours || changed_vpcs.contains(&report.vpc_id) {
            savings += monthly;
        }
    }
    let basis = if plan.vpcs.iter().any(|v| v.nat_monthly_usd.is_some()) || plan.vpcs.is_empty() {
        format!(
            "upper bound: the VPC's NAT gateway traffic over the last 30 days × {} (S3 and DynamoDB traffic is part of it)",
            plan.prices.basis_of(&[PriceItem::NatGatewayGb])
        )
    } else {
        "unknown: CloudWatch NAT gateway metrics could not be read".to_string()
    };

    let vpcs_in_scope = vpcs.len() as u32;
    let vpcs_not_listed = vpcs.len().saturating_sub(MAX_LISTED_VPCS) as u32;
    vpcs.truncate(MAX_LISTED_VPCS);
    let status = GatewayEndpointsStatus {
        findings: open_findings,
        vpcs_in_scope,
        missing_endpoints,
        missing_route_table_associations: missing_associations,
        endpoints_created: created,
        route_tables_associated: associated,
        adopted_endpoints: plan.adopted_endpoints() as u32,
        vpcs,
        vpcs_not_listed,
    };
    let cost = AreaCost {
        area: AREA.to_string(),
        monthly_waste_usd: usd(waste),
        monthly_savings_usd: usd(savings),
        monthly_cost_usd: usd(0.0),
        basis,
        measured: None,
    };
    (status, cost)
}
