//! Validation of the `accessKeys` section.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::ssm_access::is_iam_name;
use super::{Errors, check_grace_period, check_tags};
use crate::api::AccessKeysSpec;

/// As the CRD schema's bounds.
const MAX_DAYS: u32 = 3650;
const MAX_DEACTIVATIONS_PER_RUN: u32 = 1000;
const MAX_USER_NAMES: usize = 500;

/// The validated accessKeys section.
#[derive(Clone, Debug, PartialEq)]
pub struct AccessKeysDesired {
    pub max_key_age_days: u32,
    pub max_unused_days: u32,
    pub deactivate_unused: bool,
    pub grace_period: Duration,
    pub max_deactivations_per_run: u32,
    /// Users carrying all these tags are out of scope; empty: none by tag.
    pub exclude_user_tags: BTreeMap<String, String>,
    pub exclude_user_names: BTreeSet<String>,
}

impl AccessKeysDesired {
    /// True when the user is out of scope.
    pub fn excludes(&self, user_name: &str, tags: &BTreeMap<String, String>) -> bool {
        self.exclude_user_names.contains(user_name)
            || (!self.exclude_user_tags.is_empty() && crate::api::carries_all(tags, &self.exclude_user_tags))
    }
}

pub(super) fn check_access_keys(spec: &AccessKeysSpec, errors: &mut Errors) -> AccessKeysDesired {
    const FIELD: &str = "spec.accessKeys";
    let mut days = |name: &str, value: u32| {
        if !(1..=MAX_DAYS).contains(&value) {
            errors.push(format!("{FIELD}.{name}"), format!("{value} is outside 1..{MAX_DAYS}"));
        }
        value
    };
    let max_key_age_days = days("maxKeyAgeDays", spec.max_key_age_days);
    let max_unused_days = days("maxUnusedDays", spec.max_unused_days);
    if !(1..=MAX_DEACTIVATIONS_PER_RUN).contains(&spec.max_deactivations_per_run) {
        errors.push(
            format!("{FIELD}.maxDeactivationsPerRun"),
            format!("{} is outside 1..{MAX_DEACTIVATIONS_PER_RUN}", spec.max_deactivations_per_run),
        );
    }
    let grace_period = check_grace_period(&format!("{FIELD}.gracePeriod"), &spec.grace_period, errors);
    let exclude = spec.exclude.clone().unwrap_or_default();
    check_tags(&format!("{FIELD}.exclude.userTags"), &exclude.user_tags, errors);
    if exclude.user_names.len() > MAX_USER_NAMES {
        errors.push(format!("{FIELD}.exclude.userNames"), format!("{} names; at most {MAX_USER_NAMES}", exclude.user_names.len()));
    }
    let mut names = BTreeSet::new();
    for (i, name) in exclude.user_names.iter().enumerate() {
        let field = format!("{FIELD}.exclude.userNames[{i}]");
        if !is_iam_name(name, 64) {
            errors.push(field, format!("{name:?} is not an IAM user name (1 to 64 of letters, digits and +=,.@_-)"));
        } else if !names.insert(name.clone()) {
            errors.push(field, format!("{name:?} is listed twice"));
        }
    }
    AccessKeysDesired {
        max_key_age_days,
        max_unused_days,
        deactivate_unused: spec.deactivate_unused,
        grace_period,
        max_deactivations_per_run: spec.max_deactivations_per_run,
        exclude_user_tags: exclude.user_tags,
        exclude_user_names: names,
    }
}

#[cfg(test)]
mod tests {
    use super::super::validate;
    use super::*;
    use crate::api::CostPolicySpec;

    fn spec(section: &str) -> CostPolicySpec {
        serde_yaml::from_str(&format!("aws: {{region: eu-west-1}}\naccessKeys: {{{section}}}\n")).expect("fixture parses")
    }

    fn fields(section: &str) -> Vec<String> {
        validate("p", &spec(section)).expect_err("must be invalid").0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn an_empty_section_reports_keys_older_or_unused_for_90_days_and_deactivates_nothing() {
        let ak = validate("p", &spec("")).expect("valid").access_keys.expect("section");
        assert_eq!((ak.max_key_age_days, ak.max_unused_days, ak.max_deactivations_per_run), (90, 90, 10));
        assert!(!ak.deactivate_unused);
        assert_eq!(ak.grace_period, Duration::from_secs(7 * 86_400));
        assert!(!ak.excludes("anyone", &BTreeMap::new()), "an empty exclusion excludes nobody");
    }

    #[test]
    fn bounds_are_checked_with_the_field_named() {
        assert_eq!(fields("maxKeyAgeDays: 0"), ["spec.accessKeys.maxKeyAgeDays"]);
        assert_eq!(fields("maxUnusedDays: 3651"), ["spec.accessKeys.maxUnusedDays"]);
        assert_eq!(fields("maxDeactivationsPerRun: 0"), ["spec.accessKeys.maxDeactivationsPerRun"]);
        assert_eq!(fields("maxDeactivationsPerRun: 1001"), ["spec.accessKeys.maxDeactivationsPerRun"]);
        assert_eq!(fields("gracePeriod: 7 days"), ["spec.accessKeys.gracePeriod"]);
        assert_eq!(fields("gracePeriod: 366d"), ["spec.accessKeys.gracePeriod"]);
        assert_eq!(
            validate("p", &spec("gracePeriod: 14d")).expect("days are a duration").access_keys.map(|a| a.grace_period),
            Some(Duration::from_secs(14 * 86_400))
        );
        assert_eq!(fields("gracePeriod: 9000h"), ["spec.accessKeys.gracePeriod"]);
        assert!(validate("p", &spec("gracePeriod: 0s, maxKeyAgeDays: 3650, maxUnusedDays: 1")).is_ok());
    }

    #[test]
    fn excluded_users_by_name_or_by_all_tags() {
        let ak = validate("p", &spec("exclude: {userTags: {frugal.dev/keep: 'true'}, userNames: [break-glass]}"))
            .expect("valid")
            .access_keys
            .expect("section");
        let tags = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
        assert!(ak.excludes("break-glass", &tags(&[])));
        assert!(ak.excludes("ci", &tags(&[("frugal.dev/keep", "true"), ("team", "x")])));
        assert!(!ak.excludes("ci", &tags(&[("frugal.dev/keep", "false")])));
        assert_eq!(
            fields("exclude: {userNames: ['a b', ok, ok]}"),
            ["spec.accessKeys.exclude.userNames[0]", "spec.accessKeys.exclude.userNames[2]"]
        );
    }
}
