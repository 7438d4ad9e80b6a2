use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

fn desired() -> RightSizingDesired {
    RightSizingDesired {
        enroll: true,
        enroll_member_accounts: false,
        resources: RightSizingResource::ALL.into_iter().collect(),
        min_monthly_savings_usd: 5.0,
        selector: BTreeMap::new(),
    }
}

fn rec(kind: RightSizingResource, id: &str, finding: Finding, savings: f64, tags: &[(&str, &str)]) -> Recommendation {
    Recommendation {
        kind,
        id: id.into(),
        finding,
        current: "m5.2xlarge".into(),
        recommended: Some("m5.large".into()),
        monthly_savings_usd: savings,
        performance_risk: Some(1.0),
        tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

fn active(recommendations: Vec<Recommendation>) -> RightSizingInventory {
    RightSizingInventory { enrollment: Enrollment::Active, recommendations, ..Default::default() }
}

use RightSizingResource::{AutoScalingGroups as Asg, EbsVolumes as Ebs, Ec2Instances as Ec2};

#[test]
fn an_account_not_enrolled_is_enrolled_in_enforce_and_only_reported_in_audit() {
    let inactive = RightSizingInventory::default();
    let enforce = plan(&desired(), &inactive, true);
    assert_eq!(enforce.actions, [RightSizingChange::Enroll { include_member_accounts: false }]);
    let audit = plan(&desired(), &inactive, false);
    assert_eq!((audit.drift.len(), audit.actions.len()), (1, 0), "Audit plans the enrollment and makes no call");
    let failed = RightSizingInventory { enrollment: Enrollment::Failed, status_reason: Some("x".into()), ..Default::default() };
    assert_eq!(plan(&desired(), &failed, true).actions.len(), 1, "a failed enrollment is tried again");
    let no = RightSizingDesired { enroll: false, ..desired() };
    assert_eq!(plan(&no, &inactive, true).drift, [], "enroll: false never enrolls");
}

#[test]
fn pending_or_active_is_left_alone_and_member_accounts_only_when_the_spec_says_so() {
    for enrollment in [Enrollment::Active, Enrollment::Pending] {
        let inventory = RightSizingInventory { enrollment, ..Default::default() };
        assert_eq!(plan(&desired(), &inventory, true).drift, [], "{enrollment:?}");
        let org = RightSizingDesired { enroll_member_accounts: true, ..desired() };
        assert_eq!(plan(&org, &inventory, true).drift, [RightSizingChange::Enroll { include_member_accounts: true }]);
        let done = RightSizingInventory { member_accounts_enrolled: true, ..inventory };
        assert_eq!(plan(&org, &done, true).drift, []);
    }
}

#[test]
fn enrolled_without_recommendations_yet_is_not_optimized() {
    let plan = plan(&desired(), &active(vec![]), true);
    assert_eq!((plan.evaluated, plan.optimized, plan.opportunities.len(), plan.drift.len()), (0, 0, 0, 0));
}

#[test]
fn savings_are_summed_over_every_opportunity_and_only_those_above_the_threshold_are_listed() {
    let plan = plan(
        &desired(),
        &active(vec![
            rec(Ec2, "i-big", Finding::Overprovisioned, 120.5, &[]),
            rec(Ebs, "vol-gp2", Finding::NotOptimized, 8.0, &[]),
            rec(Asg, "web", Finding::Overprovisioned, 2.25, &[]),
            rec(Ec2, "i-ok", Finding::Optimized, 0.0, &[]),
            rec(Ec2, "i-small", Finding::Underprovisioned, 40.0, &[]),
            rec(Ebs, "vol-slow", Finding::NotOptimized, 0.0, &[]),
        ]),
        true,
    );
    assert!((plan.total_savings_usd() - 130.75).abs() < 1e-9, "{}", plan.total_savings_usd());
    let listed: Vec<&str> = plan.listed_opportunities().map(|r| r.id.as_str()).collect();
    assert_eq!(listed, ["i-big", "vol-gp2"], "largest first; web saves less than the threshold");
    assert_eq!(plan.opportunities_below_threshold(), 1);
    assert_eq!(plan.risks.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["i-small"], "a risk, never savings");
    assert_eq!((plan.overprovisioned, plan.underprovisioned, plan.optimized, plan.not_optimized, plan.evaluated), (2, 1, 1, 2, 6));
    assert_eq!(plan.drift, [], "findings are a person's to act on: the plan holds no change for them");
}

#[test]
fn the_selector_and_the_resource_kinds_scope_what_is_counted() {
    let only_prod_instances = RightSizingDesired {
        resources: BTreeSet::from([Ec2]),
        selector: BTreeMap::from([("env".to_string(), "prod".to_string())]),
        ..desired()
    };
    let plan = plan(
        &only_prod_instances,
        &active(vec![
            rec(Ec2, "i-prod", Finding::Overprovisioned, 50.0, &[("env", "prod"), ("team", "a")]),
            rec(Ec2, "i-dev", Finding::Overprovisioned, 500.0, &[("env", "dev")]),
            rec(Ebs, "vol-prod", Finding::NotOptimized, 30.0, &[("env", "prod")]),
        ]),
        true,
    );
    assert_eq!(plan.opportunities.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["i-prod"]);
    assert_eq!((plan.evaluated, plan.total_savings_usd()), (1, 50.0));
}

#[test]
fn findings_and_enrollment_are_read_in_aws_words() {
    assert_eq!(Finding::parse("Overprovisioned"), Some(Finding::Overprovisioned));
    assert_eq!(Finding::parse("Underprovisioned"), Some(Finding::Underprovisioned));
    assert_eq!(Finding::parse("NotOptimized"), Some(Finding::NotOptimized));
    assert_eq!(Finding::parse("Idle"), None);
    assert_eq!(Enrollment::parse("Pending"), Some(Enrollment::Pending));
}

fn arb_rec() -> impl Strategy<Value = Recommendation> {
    (
        prop::sample::select(RightSizingResource::ALL.to_vec()),
        0u8..50,
        prop::sample::select(vec![Finding::Overprovisioned, Finding::Underprovisioned, Finding::Optimized, Finding::NotOptimized]),
        0.0f64..1000.0,
        prop::option::of(prop::sample::select(vec!["prod", "dev"])),
    )
        .prop_map(|(kind, n, finding, savings, env)| {
            let tags: Vec<(&str, &str)> = env.map(|e| vec![("env", e)]).unwrap_or_default();
            rec(kind, &format!("r-{n}"), finding, savings, &tags)
        })
}

proptest! {
    #[test]
    fn only_enrollment_is_ever_planned_and_the_total_is_the_in_scope_over_provisioned_savings(
        recommendations in prop::collection::vec(arb_rec(), 0..40),
        enrollment in prop::sample::select(vec![Enrollment::Active, Enrollment::Inactive, Enrollment::Pending, Enrollment::Failed]),
        enforce in any::<bool>(),
        prod_only in any::<bool>(),
        min in 0.0f64..100.0,
    ) {
        let selector = if prod_only { BTreeMap::from([("env".to_string(), "prod".to_string())]) } else { BTreeMap::new() };
        let d = RightSizingDesired { selector: selector.clone(), min_monthly_savings_usd: min, ..desired() };
        let inventory = RightSizingInventory { enrollment, recommendations: recommendations.clone(), ..Default::default() };
        let plan = plan(&d, &inventory, enforce);
        prop_assert!(plan.drift.len() <= 1);
        let only_this_account = |c: &RightSizingChange| matches!(c, RightSizingChange::Enroll { include_member_accounts: false });
        prop_assert!(plan.drift.iter().all(only_this_account));
        if !enforce {
            prop_assert!(plan.actions.is_empty());
        }
        let expected: f64 = recommendations
            .iter()
            .filter(|r| crate::api::carries_all(&r.tags, &selector))
            .filter(|r| matches!(r.finding, Finding::Overprovisioned | Finding::NotOptimized))
            .map(|r| r.monthly_savings_usd)
            .sum();
        prop_assert!((plan.total_savings_usd() - expected).abs() < 1e-6);
        prop_assert!(plan.listed_opportunities().all(|r| r.monthly_savings_usd >= min && r.finding != Finding::Underprovisioned));
        prop_assert!(plan.opportunities.windows(2).all(|w| w[0].monthly_savings_usd >= w[1].monthly_savings_usd));
    }
}
