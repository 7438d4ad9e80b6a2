//! Human and JSON renderings of plans and results, in the spirit of `terraform plan`.

use std::fmt::Write;

use serde_json::json;

use crate::api::{CostPolicyStatus, EndpointOwnership};
use crate::engine::{AppliedRun, AreaPlan, PlannedRun};
use crate::plan::gateway_endpoints::GatewayPlan;

pub fn plan_table(planned: &PlannedRun) -> String {
    let policy = &planned.policy;
    let mut out = String::new();
    let _ = writeln!(out, "Policy {} ({:?} mode, region {})", policy.name, policy.mode, policy.aws.region);
    if let Some(area) = &planned.gateway_endpoints {
        let _ = writeln!(out);
        match area {
            AreaPlan::ObservationFailed(error) => {
                let _ = writeln!(out, "gatewayEndpoints: cannot observe the account: {error}");
                let _ = writeln!(out, "  nothing will be changed in this area");
            }
            AreaPlan::Planned(plan) => gateway_table(&mut out, plan, policy.is_audit()),
        }
    }
    out
}

fn gateway_table(out: &mut String, plan: &GatewayPlan, audit: bool) {
    let _ = writeln!(out, "gatewayEndpoints: {} VPCs in scope", plan.vpcs.len());
    for vpc in &plan.vpcs {
        let cost = vpc.nat_monthly_usd.map(|usd| format!(" (NAT data processing ${usd:.2}/month)")).unwrap_or_default();
        let _ = writeln!(out, "  {}{cost}", vpc.vpc_id);
        for service in &vpc.services {
            let owner = match service.ownership {
                EndpointOwnership::Managed => "managed",
                EndpointOwnership::Adopted => "adopted",
                EndpointOwnership::Missing => "missing",
            };
            match (&service.endpoint_id, service.route_tables_missing.is_empty()) {
                (Some(id), true) => {
                    let _ = writeln!(out, "    = {:<9} {id} ({owner}): in sync", service.service.as_str());
                }
                (Some(id), false) => {
                    let _ = writeln!(out, "    ~ {:<9} {id} ({owner}): add route tables", service.service.as_str());
                    for rt in &service.route_tables_missing {
                        let _ = writeln!(out, "        + {rt}");
                    }
                }
                (None, _) => {
                    let _ = writeln!(out, "    + {:<9} create gateway endpoint", service.service.as_str());
                    for rt in &service.route_tables_missing {
                        let _ = writeln!(out, "        + {rt}");
                    }
                }
            }
        }
    }
    let creates = plan.missing_endpoints();
    let changes = plan.drift.len() - creates;
    let _ = writeln!(out);
    if plan.drift.is_empty() {
        let _ = writeln!(out, "No changes. The VPCs in scope match the policy.");
    } else {
        let waste = plan.monthly_waste_usd();
        if plan.vpcs.iter().any(|v| v.nat_monthly_usd.is_some()) {
            let _ = writeln!(out, "NAT data processing in the VPCs with drift: ${waste:.2}/month (upper bound of the savings).");
        }
        let verb = if audit { "Audit mode: would be" } else { "Plan:" };
        let _ = writeln!(out, "{verb} {creates} to create, {changes} to change, 0 to destroy.");
    }
}

pub fn apply_table(applied: &AppliedRun) -> String {
    let mut out = String::new();
    let Some(area) = &applied.gateway_endpoints else { return out };
    if area.results.is_empty() {
        if applied.policy.is_audit() {
            let _ = writeln!(out, "Audit mode: nothing was changed.");
        }
        return out;
    }
    let _ = writeln!(out);
    let (mut ok, mut failed) = (0, 0);
    for result in &area.results {
        match &result.outcome {
            Ok(created) => {
                ok += 1;
                let id = created.as_ref().map(|id| format!(": {id}")).unwrap_or_default();
                let _ = writeln!(out, "  done   {}{id}", result.change.describe());
            }
            Err(error) => {
                failed += 1;
                let _ = writeln!(out, "  FAILED {}: {error}", result.change.describe());
            }
        }
    }
    let _ = writeln!(out, "\nApply complete: {ok} changes made, {failed} failed.");
    out
}

pub fn json_report(applied: &AppliedRun, status: &CostPolicyStatus) -> serde_json::Value {
    let policy = &applied.policy;
    let gateway = applied.gateway_endpoints.as_ref().map(|area| match &area.plan {
        AreaPlan::ObservationFailed(error) => json!({ "error": error.to_string() }),
        AreaPlan::Planned(plan) => json!({
            "drift": plan.drift,
            "results": area.results.iter().map(|r| json!({
                "change": r.change,
                "created": r.outcome.as_ref().ok().cloned().flatten(),
                "error": r.outcome.as_ref().err().map(ToString::to_string),
            })).collect::<Vec<_>>(),
        }),
    });
    json!({
        "policy": policy.name,
        "mode": format!("{:?}", policy.mode),
        "region": policy.aws.region,
        "gatewayEndpoints": gateway,
        "status": status,
    })
}
