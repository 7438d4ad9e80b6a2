//! `frugal plan` rendering of the gatewayEndpoints area: each VPC with its endpoints and the
//! route tables they miss.

use std::fmt::Write;

use serde_json::json;

use crate::engine::areas::GatewayEndpoints;
use crate::engine::{AreaOutcome, Output, PlanCounts};
use crate::plan::gateway_endpoints::{GatewayEndpointsPlan, Ownership};
use crate::pricing::{PriceItem, unit_price};

use super::{AreaJson, results_json};

impl Output for GatewayEndpoints {
    fn plan_section(out: &mut String, plan: &Self::Plan) -> PlanCounts {
        gateway_table(out, plan);
        let waste = (plan.vpcs.iter().any(|v| v.nat_monthly_usd.is_some()) && !plan.drift.is_empty()).then(|| {
            format!(
                "NAT data processing in the VPCs with drift: ${:.2}/month (upper bound of the savings, at ${}/GB)",
                plan.monthly_waste_usd(),
                unit_price(plan.prices.usd(PriceItem::NatGatewayGb))
            )
        });
        PlanCounts { create: plan.missing_endpoints(), change: plan.drift.len() - plan.missing_endpoints(), destroy: 0, waste }
    }

    fn describe(change: &Self::Change) -> String {
        change.describe()
    }

    fn objects(_change: &Self::Change) -> usize {
        1
    }

    type Json<'a> = AreaJson<serde_json::Value>;

    fn json(outcome: &AreaOutcome<Self>) -> Self::Json<'_> {
        AreaJson::of(outcome, |plan| json!({ "drift": plan.drift, "results": results_json(&outcome.results) }))
    }
}

fn gateway_table(out: &mut String, plan: &GatewayEndpointsPlan) {
    let _ = writeln!(out, "gatewayEndpoints: {} VPCs in scope", plan.vpcs.len());
    for vpc in &plan.vpcs {
        let cost = vpc.nat_monthly_usd.map(|usd| format!(" (NAT data processing ${usd:.2}/month)")).unwrap_or_default();
        let _ = writeln!(out, "  {}{cost}", vpc.vpc_id);
        for service in &vpc.services {
            let owner = match service.ownership {
                Ownership::Managed => "managed",
                Ownership::Adopted => "adopted",
                Ownership::Missing => "missing",
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
}
