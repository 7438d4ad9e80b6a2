//! rightSizing through the controller: Enforce enrolls the account and reports the honest
//! "no recommendations yet"; once Compute Optimizer has findings they are in status in
//! dollars, with no change ever made to a resource; Audit changes nothing.

use crate::api::{RightSizingResource, RightSizingSpec};
use crate::plan::right_sizing::{Enrollment, Finding, Recommendation, RightSizingInventory};

use super::*;

fn right_sizing_only(policy: CostPolicy) -> CostPolicy {
    let section: RightSizingSpec = serde_yaml::from_str("{minMonthlySavingsUsd: 5}").expect("fixture parses");
    policy.with_spec(|spec| {
        spec.gateway_endpoints = None;
        spec.right_sizing = Some(section);
    })
}

fn recommendation(id: &str, finding: Finding, savings: f64) -> Recommendation {
    Recommendation {
        kind: RightSizingResource::Ec2Instances,
        id: id.to_string(),
        finding,
        current: "m5.2xlarge".to_string(),
        recommended: Some("m5.large".to_string()),
        monthly_savings_usd: savings,
        performance_risk: Some(1.0),
        tags: Tags::new(),
    }
}

/// An account not enrolled yet, whose Compute Optimizer will have these findings once it is.
fn not_enrolled() -> RightSizingInventory {
    RightSizingInventory {
        enrollment: Enrollment::Inactive,
        recommendations: vec![
            recommendation("i-0big", Finding::Overprovisioned, 210.24),
            recommendation("i-0small", Finding::Underprovisioned, 0.0),
            recommendation("i-0fine", Finding::Optimized, 0.0),
        ],
        ..Default::default()
    }
}

#[tokio::test]
async fn right_sizing_enforce_enrolls_the_account_then_reports_the_findings_in_dollars() {
    let mut harness = Harness::new(FakeCloud::default().with_right_sizing(RightSizingInventory::default()));
    let policy = right_sizing_only(CostPolicy::test().with_finalizer().enforce());
    harness
        .reconcile(policy.clone(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "RightSizingInSync", "True", "Reconciled");
            let message = condition(&status, "RightSizingInSync")["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains("within a day"), "{message}");
            assert_eq!(status["rightSizing"]["enrollment"], "Active", "{status:#}");
            assert!(status["rightSizing"]["enrolledAt"].is_string(), "{status:#}");
            let enrolled = api.expect_event("Normal", "ComputeOptimizerEnrolled").await;
            assert_eq!(enrolled["action"], "UpdateEnrollmentStatus");
            api
        })
        .await
        .expect("reconcile succeeds");
    assert_eq!(harness.cloud.right_sizing().enrollment, Enrollment::Active);

    // A day later Compute Optimizer has its findings.
    lock(&harness.cloud.account).right_sizing.recommendations = not_enrolled().recommendations;
    let before = harness.cloud.calls().len();
    harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "RightSizingInSync", "False", "OpportunitiesFound");
            // A person's decision: Ready stays True and says so.
            assert_condition(&status, "Ready", "True", "OpportunitiesFound");
            let rs = &status["rightSizing"];
            assert_eq!(rs["estimatedMonthlySavingsUsd"], "210.24", "{rs:#}");
            assert_eq!(
                (rs["overprovisioned"].as_u64(), rs["underprovisioned"].as_u64(), rs["optimized"].as_u64()),
                (Some(1), Some(1), Some(1))
            );
            let listed: Vec<(&str, &str)> = rs["resources"]
                .as_array()
                .expect("resources")
                .iter()
                .map(|r| (r["id"].as_str().unwrap_or_default(), r["finding"].as_str().unwrap_or_default()))
                .collect();
            assert_eq!(listed, [("i-0big", "Overprovisioned"), ("i-0small", "Underprovisioned")]);
            let cost = status["cost"]["areas"].as_array().expect("cost areas").iter().find(|a| a["area"] == "rightSizing").cloned();
            let cost = cost.expect("rightSizing's cost");
            assert_eq!((cost["monthlyWasteUsd"].as_str(), cost["monthlySavingsUsd"].as_str()), (Some("210.24"), Some("0.00")), "{cost:#}");
            assert!(cost["basis"].as_str().is_some_and(|b| b.contains("Compute Optimizer")), "{cost:#}");
            api
        })
        .await
        .expect("second reconcile succeeds");
    assert_eq!(harness.cloud.calls()[before..], [CloudCall::Connect, CloudCall::ObserveRightSizing], "findings change nothing");
}

#[tokio::test]
async fn right_sizing_audit_reports_the_account_not_enrolled_and_never_enrolls_it() {
    let mut harness = Harness::new(FakeCloud::default().with_right_sizing(not_enrolled()));
    harness
        .reconcile(right_sizing_only(CostPolicy::test().with_finalizer()), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "RightSizingInSync", "False", "DriftFound");
            assert_eq!(
                (status["rightSizing"]["enrollment"].as_str(), status["rightSizing"]["findings"].as_u64()),
                (Some("Inactive"), Some(1))
            );
            api
        })
        .await
        .expect("reconcile succeeds");
    let calls = harness.cloud.calls();
    assert_eq!(calls, [CloudCall::Connect, CloudCall::ObserveRightSizing]);
    assert_eq!(harness.cloud.right_sizing(), not_enrolled(), "the account is untouched");
}
