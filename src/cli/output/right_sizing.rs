//! `frugal plan` rendering of the rightSizing area: the enrollment, then the largest
//! opportunities in dollars and the underprovisioned resources.

use std::fmt::Write;

use serde_json::json;

use crate::api::usd;
use crate::engine::areas::RightSizing;
use crate::engine::{AreaOutcome, Output, PlanCounts};
use crate::plan::right_sizing::{Enrollment, Recommendation, RightSizingPlan};

use super::{AreaJson, results_json};

const MAX_LISTED: usize = 20;

impl Output for RightSizing {
    /// The enrollment is the only change; the dollars are findings for a person.
    fn plan_section(out: &mut String, plan: &Self::Plan) -> PlanCounts {
        right_sizing_table(out, plan);
        let total = plan.total_savings_usd();
        let waste = (total > 0.0).then(|| {
            format!(
                "Compute Optimizer estimates ${}/month from resizing {} resources (on-demand prices; the operator never resizes)",
                usd(total),
                plan.opportunities.len()
            )
        });
        PlanCounts { change: plan.drift.len(), waste, ..Default::default() }
    }

    fn describe(change: &Self::Change) -> String {
        change.describe()
    }

    fn objects(_change: &Self::Change) -> usize {
        1
    }

    type Json<'a> = AreaJson<serde_json::Value>;

    fn json(outcome: &AreaOutcome<Self>) -> Self::Json<'_> {
        let resource = |r: &Recommendation| {
            json!({
                "kind": r.kind.as_str(),
                "id": r.id,
                "finding": r.finding,
                "current": r.current,
                "recommended": r.recommended,
                "estimatedMonthlySavingsUsd": usd(r.monthly_savings_usd),
                "performanceRisk": r.performance_risk,
            })
        };
        AreaJson::of(outcome, |plan| {
            json!({
                "drift": plan.drift,
                "enrollment": plan.enrollment,
                "estimatedMonthlySavingsUsd": usd(plan.total_savings_usd()),
                "opportunities": plan.opportunities.iter().map(resource).collect::<Vec<_>>(),
                "underprovisioned": plan.risks.iter().map(resource).collect::<Vec<_>>(),
                "results": results_json(&outcome.results),
            })
        })
    }
}

fn right_sizing_table(out: &mut String, plan: &RightSizingPlan) {
    let _ = writeln!(out, "rightSizing: Compute Optimizer enrollment {}", plan.enrollment.as_str());
    for change in &plan.drift {
        let _ = writeln!(out, "  ~ {}", change.describe());
    }
    if plan.enrollment != Enrollment::Active {
        if let Some(reason) = &plan.status_reason {
            let _ = writeln!(out, "  ! {reason}");
        }
        let _ = writeln!(out, "  = no recommendations until the account is enrolled (they take up to a day after)");
        return;
    }
    if plan.evaluated == 0 {
        let _ = writeln!(out, "  = enrolled, no recommendations yet");
        return;
    }
    let _ = writeln!(
        out,
        "  {} resources: {} overprovisioned, {} underprovisioned, {} optimized, {} not optimized",
        plan.evaluated, plan.overprovisioned, plan.underprovisioned, plan.optimized, plan.not_optimized
    );
    let listed: Vec<&Recommendation> = plan.listed_opportunities().collect();
    for r in listed.iter().take(MAX_LISTED) {
        let to = r.recommended.as_deref().unwrap_or("none offered");
        let risk = r.performance_risk.map(|risk| format!(", performance risk {risk:.1} of 4")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  ! {} {}: {} → {to}, saves ${}/month{risk} ({})",
            r.kind.noun(),
            r.id,
            r.current,
            usd(r.monthly_savings_usd),
            r.finding.as_str()
        );
    }
    if listed.len() > MAX_LISTED {
        let _ = writeln!(out, "    ... and {} more", listed.len() - MAX_LISTED);
    }
    let below = plan.opportunities_below_threshold();
    if below > 0 {
        let _ =
            writeln!(out, "  = {below} smaller opportunities (under ${}/month each) are in the total", usd(plan.min_monthly_savings_usd));
    }
    for r in &plan.risks {
        let to = r.recommended.as_deref().unwrap_or("none offered");
        let _ =
            writeln!(out, "  ! {} {}: {} → {to}: underprovisioned, a risk to its workload (not savings)", r.kind.noun(), r.id, r.current);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::api::RightSizingResource;
    use crate::api::validate::RightSizingDesired;
    use crate::plan::right_sizing::{Finding, RightSizingInventory, plan};

    #[test]
    fn the_section_lists_opportunities_in_dollars_and_risks_apart() {
        let rec = |id: &str, finding, savings| Recommendation {
            kind: RightSizingResource::Ec2Instances,
            id: id.into(),
            finding,
            current: "m5.2xlarge".into(),
            recommended: Some("m5.large".into()),
            monthly_savings_usd: savings,
            performance_risk: Some(1.0),
            tags: BTreeMap::new(),
        };
        let desired = RightSizingDesired {
            enroll: true,
            enroll_member_accounts: false,
            resources: RightSizingResource::ALL.into_iter().collect(),
            min_monthly_savings_usd: 5.0,
            selector: BTreeMap::new(),
        };
        let inventory = RightSizingInventory {
            enrollment: Enrollment::Active,
            recommendations: vec![
                rec("i-big", Finding::Overprovisioned, 210.24),
                rec("i-tiny", Finding::Overprovisioned, 1.5),
                rec("i-small", Finding::Underprovisioned, 30.0),
            ],
            ..Default::default()
        };
        let mut out = String::new();
        let counts = RightSizing::plan_section(&mut out, &plan(&desired, &inventory, true));
        assert_eq!(
            out,
            "rightSizing: Compute Optimizer enrollment Active\n  \
             3 resources: 2 overprovisioned, 1 underprovisioned, 0 optimized, 0 not optimized\n  \
             ! instance i-big: m5.2xlarge → m5.large, saves $210.24/month, performance risk 1.0 of 4 (Overprovisioned)\n  \
             = 1 smaller opportunities (under $5.00/month each) are in the total\n  \
             ! instance i-small: m5.2xlarge → m5.large: underprovisioned, a risk to its workload (not savings)\n"
        );
        assert_eq!(counts.change, 0);
        assert!(counts.waste.is_some_and(|w| w.starts_with("Compute Optimizer estimates $211.74/month")));
    }
}
