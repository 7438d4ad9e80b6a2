//! Status, condition and cost of the rightSizing area.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::conditions::{self, ConditionUpdate, reason};
use crate::api::{AreaCost, AreaName, CostPolicyStatus, RightSizingResourceStatus, RightSizingStatus, usd};
use crate::engine::areas::RightSizing;
use crate::engine::{AreaKind, AreaOutcome, Report};
use crate::plan::right_sizing::{Enrollment, Finding, Recommendation, RightSizingPlan};
use crate::plan::snapshot_retention::rfc3339;

pub const AREA: &str = AreaName::RightSizing.key();
const BASIS: &str = "AWS Compute Optimizer's estimated monthly savings (on-demand prices of the policy's region, before \
                     discounts and Savings Plans; spec.pricing.discountPercent is not applied to AWS's own estimate), summed over the opportunities in scope: what resizing them would save, \
                     not what was saved (the operator never resizes)";
const MAX_LISTED: usize = 20;

impl Report for RightSizing {
    fn status_of(status: &CostPolicyStatus) -> Option<&Self::Status> {
        status.right_sizing.as_ref()
    }

    fn status_slot(status: &mut CostPolicyStatus) -> &mut Option<Self::Status> {
        &mut status.right_sizing
    }

    fn findings(status: &Self::Status) -> u32 {
        status.findings
    }

    fn details(plan: &Self::Plan, outcome: &AreaOutcome<Self>, previous: Option<&Self::Status>, now: &Time) -> (Self::Status, AreaCost) {
        let status = details(plan, outcome, previous, now);
        let cost = AreaCost {
            area: AREA.to_string(),
            monthly_waste_usd: usd(plan.total_savings_usd()),
            monthly_savings_usd: usd(0.0),
            monthly_cost_usd: usd(0.0),
            basis: BASIS.to_string(),
            measured: None,
        };
        (status, cost)
    }

    fn condition(outcome: &AreaOutcome<Self>, status: Option<&Self::Status>, audit: bool) -> ConditionUpdate {
        condition(outcome, status, audit)
    }

    /// Never called: enrolling twice is harmless, so no conflict rule names this area.
    fn conflict_message(others: &[&str], _outcome: &AreaOutcome<Self>) -> String {
        format!("{} reads the same recommendations as CostPolicy {}", Self::NAME, others.join(", "))
    }
}

/// The enrollment after the run: what UpdateEnrollmentStatus answered when it succeeded.
fn enrollment_after(plan: &RightSizingPlan, outcome: &AreaOutcome<RightSizing>) -> (Enrollment, bool) {
    let enrolled = outcome.results.iter().find_map(|r| r.outcome.as_ref().ok().map(|s| s.as_deref().and_then(Enrollment::parse)));
    match enrolled {
        Some(answered) => (answered.unwrap_or(Enrollment::Pending), true),
        None => (plan.enrollment, false),
    }
}

fn listed(r: &Recommendation) -> RightSizingResourceStatus {
    RightSizingResourceStatus {
        kind: r.kind.as_str().to_string(),
        id: r.id.clone(),
        finding: r.finding.as_str().to_string(),
        current: r.current.clone(),
        recommended: r.recommended.clone().unwrap_or_else(|| "none offered".to_string()),
        // A resource too small for its load saves nothing: it needs more.
        estimated_monthly_savings_usd: usd(if r.finding == Finding::Underprovisioned { 0.0 } else { r.monthly_savings_usd }),
        performance_risk: r.performance_risk.map_or_else(|| "unknown".to_string(), |risk| format!("{risk:.1}")),
    }
}

fn details(
    plan: &RightSizingPlan,
    outcome: &AreaOutcome<RightSizing>,
    previous: Option<&RightSizingStatus>,
    now: &Time,
) -> RightSizingStatus {
    let (enrollment, enrolled_now) = enrollment_after(plan, outcome);
    let enrolled_at = if enrolled_now {
        Some(rfc3339(now.0.as_second()))
    } else if matches!(enrollment, Enrollment::Active | Enrollment::Pending) {
        previous.and_then(|p| p.enrolled_at.clone())
    } else {
        None
    };
    let listed_opportunities: Vec<&Recommendation> = plan.listed_opportunities().collect();
    let mut resources: Vec<RightSizingResourceStatus> = listed_opportunities.iter().copied().chain(&plan.risks).map(listed).collect();
    let resources_not_listed = resources.len().saturating_sub(MAX_LISTED) as u32;
    resources.truncate(MAX_LISTED);
    let not_enrolled = u32::from(!matches!(enrollment, Enrollment::Active | Enrollment::Pending));
    RightSizingStatus {
        findings: not_enrolled + listed_opportunities.len() as u32 + plan.underprovisioned,
        enrollment: enrollment.as_str().to_string(),
        enrolled_at,
        resources_evaluated: plan.evaluated,
        overprovisioned: plan.overprovisioned,
        underprovisioned: plan.underprovisioned,
        optimized: plan.optimized,
        not_optimized: plan.not_optimized,
        opportunities: listed_opportunities.len() as u32,
        opportunities_below_threshold: plan.opportunities_below_threshold() as u32,
        estimated_monthly_savings_usd: usd(plan.total_savings_usd()),
        resources,
        resources_not_listed,
    }
}

fn condition(outcome: &AreaOutcome<RightSizing>, status: Option<&RightSizingStatus>, audit: bool) -> ConditionUpdate {
    let type_ = conditions::RIGHT_SIZING_IN_SYNC;
    let (plan, status) = match super::observed_without_failures(type_, outcome, status) {
        Ok(judged) => judged,
        Err(condition) => return condition,
    };
    let summary = format!(
        "{} resources evaluated: {} overprovisioned, {} underprovisioned, {} optimized, {} not optimized; estimated savings ${}/month",
        status.resources_evaluated,
        status.overprovisioned,
        status.underprovisioned,
        status.optimized,
        status.not_optimized,
        status.estimated_monthly_savings_usd
    );
    let false_ = |reason: &'static str, message: String| ConditionUpdate::new(type_, false, reason, message);
    match status.enrollment.as_str() {
        "Active" => {}
        "Pending" => {
            return false_(reason::ENROLLMENT_PENDING, "Compute Optimizer is setting up the account's enrollment".to_string());
        }
        other if audit && !plan.drift.is_empty() => {
            return false_(
                reason::DRIFT_FOUND,
                format!("Audit mode: the account is not enrolled in Compute Optimizer ({other}); nothing was changed"),
            );
        }
        other => {
            let why = plan.status_reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
            return false_(
                reason::NOT_ENROLLED,
                format!("the account is not enrolled in Compute Optimizer ({other}{why}); enroll: true enrolls it"),
            );
        }
    }
    if !outcome.results.is_empty() && status.resources_evaluated == 0 {
        return ConditionUpdate::new(
            type_,
            true,
            reason::RECONCILED,
            "enrolled in Compute Optimizer; its recommendations appear within a day".to_string(),
        );
    }
    if status.resources_evaluated == 0 {
        let since = status.enrolled_at.as_deref().map(|at| format!(" (enrolled at {at})")).unwrap_or_default();
        return ConditionUpdate::new(
            type_,
            true,
            reason::NO_RECOMMENDATIONS_YET,
            format!("enrolled, no recommendations yet{since}: Compute Optimizer needs up to a day and 30 hours of metrics"),
        );
    }
    if status.opportunities > 0 || status.underprovisioned > 0 {
        let each = if plan.min_monthly_savings_usd > 0.0 {
            format!(" (at least ${}/month each)", usd(plan.min_monthly_savings_usd))
        } else {
            String::new()
        };
        return false_(
            reason::OPPORTUNITIES_FOUND,
            format!(
                "for a person to act on: resizing opportunities {}{each}, underprovisioned {}; {summary}",
                status.opportunities, status.underprovisioned
            ),
        );
    }
    ConditionUpdate::new(type_, true, reason::IN_SYNC, format!("nothing worth resizing; {summary}"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::api::RightSizingResource;
    use crate::api::validate::RightSizingDesired;
    use crate::engine::{AreaPlan, ChangeResult};
    use crate::plan::right_sizing::{RightSizingChange, RightSizingInventory, plan};

    fn desired() -> RightSizingDesired {
        RightSizingDesired {
            enroll: true,
            enroll_member_accounts: false,
            resources: RightSizingResource::ALL.into_iter().collect(),
            min_monthly_savings_usd: 5.0,
            selector: BTreeMap::new(),
        }
    }

    fn rec(id: &str, finding: Finding, savings: f64) -> Recommendation {
        Recommendation {
            kind: RightSizingResource::Ec2Instances,
            id: id.into(),
            finding,
            current: "m5.2xlarge".into(),
            recommended: Some("m5.large".into()),
            monthly_savings_usd: savings,
            performance_risk: Some(1.0),
            tags: BTreeMap::new(),
        }
    }

    fn now() -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(1_800_000_000).expect("a time"))
    }

    fn report(
        inventory: RightSizingInventory,
        enforce: bool,
        results: Vec<ChangeResult<RightSizingChange>>,
    ) -> (RightSizingStatus, ConditionUpdate) {
        let plan = plan(&desired(), &inventory, enforce);
        let outcome = AreaOutcome::<RightSizing> { plan: AreaPlan::Planned(plan.clone()), results };
        let status = details(&plan, &outcome, None, &now());
        let condition = condition(&outcome, Some(&status), !enforce);
        (status, condition)
    }

    #[test]
    fn enrolling_says_so_and_when_and_is_not_reported_as_optimized() {
        let enrolled =
            ChangeResult { change: RightSizingChange::Enroll { include_member_accounts: false }, outcome: Ok(Some("Active".into())) };
        let (status, condition) = report(RightSizingInventory::default(), true, vec![enrolled]);
        assert_eq!((status.enrollment.as_str(), status.enrolled_at.as_deref()), ("Active", Some("2027-01-15T08:00:00Z")));
        assert_eq!((condition.status, condition.reason), (true, reason::RECONCILED));
        assert!(condition.message.contains("within a day"), "{}", condition.message);

        let (status, condition) = report(RightSizingInventory { enrollment: Enrollment::Active, ..Default::default() }, true, vec![]);
        assert_eq!((status.findings, condition.reason), (0, reason::NO_RECOMMENDATIONS_YET));
        assert!(condition.message.starts_with("enrolled, no recommendations yet"), "{}", condition.message);
    }

    #[test]
    fn not_enrolled_is_a_finding_in_audit_and_when_the_spec_does_not_enroll() {
        let (status, condition) = report(RightSizingInventory::default(), false, vec![]);
        assert_eq!((status.findings, condition.status, condition.reason), (1, false, reason::DRIFT_FOUND));
    }

    #[test]
    fn opportunities_are_in_dollars_with_risks_listed_after_them() {
        let inventory = RightSizingInventory {
            enrollment: Enrollment::Active,
            recommendations: vec![
                rec("i-small", Finding::Underprovisioned, 12.0),
                rec("i-big", Finding::Overprovisioned, 120.5),
                rec("i-tiny", Finding::Overprovisioned, 1.25),
                rec("i-ok", Finding::Optimized, 0.0),
            ],
            ..Default::default()
        };
        let (status, condition) = report(inventory, true, vec![]);
        assert_eq!(status.estimated_monthly_savings_usd, "121.75");
        assert_eq!((status.opportunities, status.opportunities_below_threshold, status.findings), (1, 1, 2));
        let ids: Vec<(&str, &str)> = status.resources.iter().map(|r| (r.id.as_str(), r.estimated_monthly_savings_usd.as_str())).collect();
        assert_eq!(ids, [("i-big", "120.50"), ("i-small", "0.00")], "an underprovisioned resource is a risk, not savings");
        assert_eq!((condition.status, condition.reason), (false, reason::OPPORTUNITIES_FOUND));
        assert!(condition.message.contains("$121.75/month"), "{}", condition.message);
    }
}
