//! The report step: status computed from what was applied. Pure.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::conditions::{self, ConditionUpdate, reason};
use crate::api::validate::{InvalidSpec, ValidatedPolicy};
use crate::api::{
    AreaCost, AreaName, CostPolicyStatus, CostStatus, EndpointOwnership, EndpointStatus, GatewayEndpointsStatus, VpcEndpointsStatus, usd,
};
use crate::plan::gateway_endpoints::{GatewayEndpointsChange, GatewayEndpointsPlan, Ownership};

use super::cloud::CloudError;
use super::run::{AppliedRun, AreaOutcome, AreaPlan};

mod backup;
mod snapshot_retention;
mod ssm_access;

/// At most this many VPCs are listed in status; the rest are counted.
pub const MAX_LISTED_VPCS: usize = 50;

const GATEWAY_AREA: &str = AreaName::GatewayEndpoints.key();
const NAT_BASIS: &str =
    "upper bound: all NAT gateway data processing of the VPC over the last 30 days at $0.045/GB (S3 and DynamoDB traffic is part of it)";

/// Status after a run.
pub fn status(applied: &AppliedRun, previous: Option<&CostPolicyStatus>, generation: Option<i64>, now: &Time) -> CostPolicyStatus {
    let mut updates = Vec::new();
    let mut findings = 0u32;
    let mut areas = Vec::new();
    let mut gateway_status = None;
    let audit = applied.policy.is_audit();

    if let Some(outcome) = &applied.gateway_endpoints {
        let condition = gateway_condition(outcome, audit);
        match &outcome.plan {
            AreaPlan::Planned(plan) => {
                let (area_status, area_findings, cost) = gateway_details(plan, outcome);
                findings += area_findings;
                gateway_status = Some(area_status);
                areas.push(cost);
            }
            AreaPlan::ObservationFailed(_) => {
                // Unknown now: keep what the last successful observation reported.
                let kept = previous.and_then(|p| p.gateway_endpoints.clone());
                findings += kept.as_ref().map(|g| g.findings).unwrap_or(0);
                gateway_status = kept;
                if let Some(cost) = previous.and_then(|p| p.cost.as_ref()).and_then(|c| c.areas.iter().find(|a| a.area == GATEWAY_AREA)) {
                    areas.push(cost.clone());
                }
            }
        }
        updates.push(condition);
    }

    let mut snapshot_status = None;
    if let Some(outcome) = &applied.snapshots {
        match &outcome.plan {
            AreaPlan::Planned(plan) => {
                let (area_status, cost) = snapshot_retention::details(plan, outcome, previous.and_then(|p| p.snapshot_retention.as_ref()));
                updates.push(snapshot_retention::condition(outcome, Some(&area_status), audit));
                findings += area_status.findings;
                snapshot_status = Some(area_status);
                areas.push(cost);
            }
            AreaPlan::ObservationFailed(_) => {
                updates.push(snapshot_retention::condition(outcome, None, audit));
                let kept = previous.and_then(|p| p.snapshot_retention.clone());
                findings += kept.as_ref().map(|s| s.findings).unwrap_or(0);
                snapshot_status = kept;
                if let Some(cost) =
                    previous.and_then(|p| p.cost.as_ref()).and_then(|c| c.areas.iter().find(|a| a.area == snapshot_retention::AREA))
                {
                    areas.push(cost.clone());
                }
            }
        }
    }

    let mut ssm_status = None;
    if let Some(outcome) = &applied.ssm_access {
        match &outcome.plan {
            AreaPlan::Planned(plan) => {
                let (area_status, cost) = ssm_access::details(plan, outcome, previous.and_then(|p| p.ssm_access.as_ref()));
                updates.push(ssm_access::condition(outcome, Some(&area_status), audit));
                findings += area_status.findings;
                ssm_status = Some(area_status);
                areas.push(cost);
            }
            AreaPlan::ObservationFailed(_) => {
                updates.push(ssm_access::condition(outcome, None, audit));
                let kept = previous.and_then(|p| p.ssm_access.clone());
                findings += kept.as_ref().map(|s| s.findings).unwrap_or(0);
                ssm_status = kept;
                if let Some(cost) = previous.and_then(|p| p.cost.as_ref()).and_then(|c| c.areas.iter().find(|a| a.area == ssm_access::AREA))
                {
                    areas.push(cost.clone());
                }
            }
        }
    }

    let mut backup_status = None;
    if let Some(outcome) = &applied.backup {
        match &outcome.plan {
            AreaPlan::Planned(plan) => {
                let (area_status, cost) = backup::details(plan, outcome, previous.and_then(|p| p.backup.as_ref()), &now.0.to_string());
                updates.push(backup::condition(outcome, Some(&area_status), audit));
                findings += area_status.findings;
                backup_status = Some(area_status);
                areas.push(cost);
            }
            AreaPlan::ObservationFailed(_) => {
                updates.push(backup::condition(outcome, None, audit));
                let kept = previous.and_then(|p| p.backup.clone());
                findings += kept.as_ref().map(|s| s.findings).unwrap_or(0);
                backup_status = kept;
                if let Some(cost) = previous.and_then(|p| p.cost.as_ref()).and_then(|c| c.areas.iter().find(|a| a.area == backup::AREA)) {
                    areas.push(cost.clone());
                }
            }
        }
    }

    for update in &mut updates {
        report_conflicts(update, applied);
    }
    let area_conditions: Vec<&ConditionUpdate> = updates.iter().collect();
    let ready = ready_condition(&area_conditions, audit, findings);
    let failed = !applied.succeeded();
    let mut all = vec![ready];
    all.push(ConditionUpdate::new(
        conditions::RECONCILING,
        failed,
        if failed { reason::RETRYING } else { reason::IDLE },
        if failed { "the last run failed and will be retried" } else { "" },
    ));
    all.push(ConditionUpdate::new(conditions::STALLED, false, reason::IDLE, ""));
    all.extend(updates);

    CostPolicyStatus {
        observed_generation: generation,
        conditions: conditions::merge(previous.map(|p| p.conditions.as_slice()).unwrap_or_default(), all, generation, now),
        last_reconcile_time: Some(now.0.to_string()),
        findings,
        gateway_endpoints: gateway_status,
        snapshot_retention: snapshot_status,
        ssm_access: ssm_status,
        backup: backup_status,
        cost: Some(total_cost(areas)),
    }
}

/// Status of a policy whose spec is invalid: Stalled, nothing else changes.
pub fn invalid_spec_status(
    error: &InvalidSpec,
    previous: Option<&CostPolicyStatus>,
    generation: Option<i64>,
    now: &Time,
) -> CostPolicyStatus {
    let message = format!("invalid spec, nothing in AWS was touched: {error}");
    blocked_status(
        previous,
        generation,
        now,
        vec![
            ConditionUpdate::new(conditions::READY, false, reason::INVALID_SPEC, message.clone()),
            ConditionUpdate::new(conditions::RECONCILING, false, reason::INVALID_SPEC, "waiting for the spec to change"),
            ConditionUpdate::new(conditions::STALLED, true, reason::INVALID_SPEC, message),
        ],
    )
}

/// Status of a policy whose aws.roleArn the operator may not assume: Stalled, no AWS call.
pub fn role_not_allowed_status(
    role_arn: &str,
    previous: Option<&CostPolicyStatus>,
    generation: Option<i64>,
    now: &Time,
) -> CostPolicyStatus {
    let message = format!("aws.roleArn {role_arn} is not allowed by the operator's --allowed-role-arns; nothing in AWS was touched");
    blocked_status(
        previous,
        generation,
        now,
        vec![
            ConditionUpdate::new(conditions::READY, false, reason::ROLE_NOT_ALLOWED, message.clone()),
            ConditionUpdate::new(
                conditions::RECONCILING,
                false,
                reason::ROLE_NOT_ALLOWED,
                "waiting for the spec or the operator's configuration to change",
            ),
            ConditionUpdate::new(conditions::STALLED, true, reason::ROLE_NOT_ALLOWED, message),
        ],
    )
}

/// Status when the account could not be reached (credentials, AssumeRole): retried.
pub fn access_failed_status(
    policy: &ValidatedPolicy,
    error: &CloudError,
    previous: Option<&CostPolicyStatus>,
    generation: Option<i64>,
    now: &Time,
) -> CostPolicyStatus {
    let message = format!("cannot reach account for region {}: {error}", policy.aws.region);
    blocked_status(
        previous,
        generation,
        now,
        vec![
            ConditionUpdate::new(conditions::READY, false, reason::AWS_ACCESS_FAILED, message),
            ConditionUpdate::new(conditions::RECONCILING, true, reason::RETRYING, "the last run failed and will be retried"),
            ConditionUpdate::new(conditions::STALLED, false, reason::IDLE, ""),
        ],
    )
}

fn blocked_status(
    previous: Option<&CostPolicyStatus>,
    generation: Option<i64>,
    now: &Time,
    updates: Vec<ConditionUpdate>,
) -> CostPolicyStatus {
    let mut status = previous.cloned().unwrap_or_default();
    status.conditions = conditions::merge(&status.conditions, updates, generation, now);
    status.observed_generation = generation;
    status.last_reconcile_time = Some(now.0.to_string());
    status
}

/// A human must resolve a conflict: the area's condition says `Conflict` and names the other
/// policies, unless the area failed (that reason wins; the conflict is added to its message).
fn report_conflicts(update: &mut ConditionUpdate, applied: &AppliedRun) {
    let Some(message) = conflict_message(update.type_, applied) else { return };
    if update.reason == reason::OBSERVATION_FAILED || update.reason == reason::ACTION_FAILED {
        update.message = format!("{}; {message}", update.message);
    } else {
        update.message = if update.message.is_empty() { message } else { format!("{message}; {}", update.message) };
        update.status = false;
        update.reason = reason::CONFLICT;
    }
}

/// What the conflicts of the area behind condition `type_` are, if any.
pub fn conflict_message(type_: &str, applied: &AppliedRun) -> Option<String> {
    let (area, what) = match type_ {
        conditions::SNAPSHOTS_IN_SYNC => (AreaName::SnapshotRetention, "snapshots"),
        conditions::GATEWAY_ENDPOINTS_IN_SYNC => (AreaName::GatewayEndpoints, "VPCs"),
        _ => return None,
    };
    let others: Vec<&str> = applied.conflicts.iter().filter(|c| c.area == area).map(|c| c.other.as_str()).collect();
    if others.is_empty() {
        return None;
    }
    let mut message = format!("{area} governs the same {what} as CostPolicy {}", others.join(", "));
    if area == AreaName::SnapshotRetention {
        message.push_str(": a snapshot is deleted only if every policy governing it expires it");
    }
    if let Some(AreaOutcome { plan: AreaPlan::Planned(plan), .. }) = &applied.gateway_endpoints
        && area == AreaName::GatewayEndpoints
    {
        let left: Vec<String> = plan.yielded.iter().map(|(vpc, other)| format!("{vpc} to {other}")).collect();
        if !left.is_empty() {
            message.push_str(&format!(": left unchanged, for the policy with the smallest name: {}", left.join(", ")));
        }
    }
    Some(message)
}

fn ready_condition(areas: &[&ConditionUpdate], audit: bool, findings: u32) -> ConditionUpdate {
    let failing: Vec<&str> = areas
        .iter()
        .filter(|c| !c.status && c.reason != reason::DRIFT_FOUND && c.reason != reason::DELETION_PENDING)
        .map(|c| c.type_)
        .collect();
    if !failing.is_empty() {
        // Every area that is False, with its reason: one waiting for a grace period is not in
        // sync either, though alone it would not make Ready False.
        let not_in_sync: Vec<String> = areas.iter().filter(|c| !c.status).map(|c| format!("{} ({})", c.type_, c.reason)).collect();
        return ConditionUpdate::new(
            conditions::READY,
            false,
            reason::AREAS_NOT_IN_SYNC,
            format!("not in sync: {}", not_in_sync.join(", ")),
        );
    }
    if audit && findings > 0 {
        return ConditionUpdate::new(
            conditions::READY,
            true,
            reason::DRIFT_FOUND,
            format!("Audit mode: {findings} findings reported, nothing changed"),
        );
    }
    if let Some(pending) = areas.iter().find(|c| c.reason == reason::DELETION_PENDING) {
        return ConditionUpdate::new(conditions::READY, true, reason::DELETION_PENDING, pending.message.clone());
    }
    if areas.iter().any(|c| c.reason == reason::RECONCILED) {
        return ConditionUpdate::new(conditions::READY, true, reason::RECONCILED, "every planned change succeeded");
    }
    ConditionUpdate::new(conditions::READY, true, reason::IN_SYNC, "the account matches the policy")
}

fn gateway_condition(outcome: &AreaOutcome<GatewayEndpointsPlan, GatewayEndpointsChange>, audit: bool) -> ConditionUpdate {
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

/// The area's status block, its open findings and its cost, after the act step.
fn gateway_details(
    plan: &GatewayEndpointsPlan,
    outcome: &AreaOutcome<GatewayEndpointsPlan, GatewayEndpointsChange>,
) -> (GatewayEndpointsStatus, u32, AreaCost) {
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
        NAT_BASIS.to_string()
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
        area: GATEWAY_AREA.to_string(),
        monthly_waste_usd: usd(waste),
        monthly_savings_usd: usd(savings),
        monthly_cost_usd: usd(0.0),
        basis,
    };
    (status, open_findings, cost)
}

fn total_cost(areas: Vec<AreaCost>) -> CostStatus {
    let sum = |f: fn(&AreaCost) -> &str| areas.iter().map(|a| f(a).parse::<f64>().unwrap_or(0.0)).sum::<f64>();
    CostStatus {
        monthly_waste_usd: usd(sum(|a| &a.monthly_waste_usd)),
        monthly_savings_usd: usd(sum(|a| &a.monthly_savings_usd)),
        monthly_cost_usd: usd(sum(|a| &a.monthly_cost_usd)),
        areas,
    }
}

#[cfg(test)]
mod tests;
