//! Validation of the `rightSizing` section.

use std::collections::{BTreeMap, BTreeSet};

use super::{Errors, check_tags};
use crate::api::{RightSizingResource, RightSizingSpec};

/// As the CRD schema's bound.
const MAX_MIN_SAVINGS_USD: u32 = 1_000_000;

/// The validated rightSizing section.
#[derive(Clone, Debug, PartialEq)]
pub struct RightSizingDesired {
    pub enroll: bool,
    pub enroll_member_accounts: bool,
    pub resources: BTreeSet<RightSizingResource>,
    pub min_monthly_savings_usd: f64,
    /// Resources carrying all these tags are in scope; empty: every resource.
    pub selector: BTreeMap<String, String>,
}

pub(super) fn check_right_sizing(spec: &RightSizingSpec, errors: &mut Errors) -> RightSizingDesired {
    const FIELD: &str = "spec.rightSizing";
    let mut resources = BTreeSet::new();
    if spec.resources.is_empty() {
        errors.push(format!("{FIELD}.resources"), "must name at least one of Ec2Instances, EbsVolumes, AutoScalingGroups");
    }
    for (i, resource) in spec.resources.iter().enumerate() {
        if !resources.insert(*resource) {
            errors.push(format!("{FIELD}.resources[{i}]"), format!("{} is listed twice", resource.as_str()));
        }
    }
    let savings = spec.min_monthly_savings_usd;
    if savings > MAX_MIN_SAVINGS_USD {
        errors.push(format!("{FIELD}.minMonthlySavingsUsd"), format!("{savings} is outside 0..{MAX_MIN_SAVINGS_USD}"));
    }
    if spec.enroll_member_accounts && !spec.enroll {
        errors.push(format!("{FIELD}.enrollMemberAccounts"), "requires enroll: true");
    }
    let selector = spec.selector.clone().unwrap_or_default().tags;
    check_tags(&format!("{FIELD}.selector.tags"), &selector, errors);
    RightSizingDesired {
        enroll: spec.enroll,
        enroll_member_accounts: spec.enroll_member_accounts,
        resources,
        min_monthly_savings_usd: f64::from(savings),
        selector,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CostPolicySpec;
    use crate::api::validate::validate;

    fn spec(section: &str) -> CostPolicySpec {
        serde_yaml::from_str(&format!("aws: {{region: eu-west-1}}\nrightSizing: {section}\n")).expect("spec parses")
    }

    fn fields(section: &str) -> Vec<String> {
        validate("p", &spec(section)).expect_err("must be invalid").0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn defaults_enroll_and_read_every_kind_of_resource() {
        let desired = validate("p", &spec("{}")).expect("valid").right_sizing.expect("rightSizing");
        assert!(desired.enroll && !desired.enroll_member_accounts);
        assert_eq!(desired.resources, RightSizingResource::ALL.into_iter().collect());
        assert_eq!((desired.min_monthly_savings_usd, desired.selector.len()), (0.0, 0));
    }

    #[test]
    fn bad_input_names_the_field() {
        assert_eq!(fields("{resources: []}"), ["spec.rightSizing.resources"]);
        assert_eq!(fields("{resources: [EbsVolumes, EbsVolumes]}"), ["spec.rightSizing.resources[1]"]);
        assert_eq!(fields("{minMonthlySavingsUsd: 1000001}"), ["spec.rightSizing.minMonthlySavingsUsd"]);
        assert_eq!(fields("{enroll: false, enrollMemberAccounts: true}"), ["spec.rightSizing.enrollMemberAccounts"]);
        assert_eq!(fields("{selector: {tags: {'': x}}}"), ["spec.rightSizing.selector.tags[\"\"]"]);
    }
}
