//! Validation of the `backup` section: AWS cron syntax, window minimums, cold storage at
//! least 90 days before deletion, retention bounds.

use std::collections::{BTreeMap, BTreeSet};

use super::super::policy::BackupSpec;
use super::{Errors, check_tags, cron, is_role_arn};

/// Default prefix of the selection name.
pub const DEFAULT_SELECTION_NAME: &str = "frugal";
const MIN_START_WINDOW: u32 = 60;
const MIN_WINDOW_GAP: u32 = 60;
const MIN_COLD_DAYS: u32 = 90;

/// The validated backup section.
#[derive(Clone, Debug, PartialEq)]
pub struct BackupDesired {
    pub vault_name: String,
    pub vault_create: bool,
    pub kms_key_arn: Option<String>,
    pub plan_name: String,
    pub adopt: bool,
    /// In spec order; names unique.
    pub rules: Vec<BackupRuleDesired>,
    pub selection: SelectionDesired,
    pub min_retention_days: Option<u32>,
    pub max_retention_days: Option<u32>,
    /// Empty: no coverage requirement.
    pub required_tags: BTreeMap<String, String>,
}

/// One validated rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupRuleDesired {
    pub name: String,
    pub schedule: String,
    pub timezone: Option<String>,
    pub start_window_minutes: u32,
    pub completion_window_minutes: u32,
    pub delete_after_days: u32,
    pub cold_after_days: Option<u32>,
}

/// The validated selection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectionDesired {
    /// Name prefix; the selection's name adds a hash of its content.
    pub name_prefix: String,
    pub iam_role_arn: String,
    pub tags: BTreeMap<String, String>,
    /// Sorted, unique.
    pub resources: Vec<String>,
}

pub(super) fn check_backup(spec: &BackupSpec, errors: &mut Errors) -> BackupDesired {
    const FIELD: &str = "spec.backup";
    if !valid_name(&spec.vault.name, 2, 50, "-_") {
        errors.push(format!("{FIELD}.vault.name"), format!("{:?} must be 2 to 50 letters, digits, - or _", spec.vault.name));
    }
    if let Some(kms) = &spec.vault.kms_key_arn {
        if !spec.vault.create {
            errors.push(format!("{FIELD}.vault.kmsKeyArn"), "is only used when backup.vault.create is true");
        }
        if !(kms.starts_with("arn:aws") && kms.split(':').nth(2) == Some("kms")) {
            errors.push(format!("{FIELD}.vault.kmsKeyArn"), format!("{kms:?} is not a KMS key ARN"));
        }
    }
    if !valid_name(&spec.plan.name, 1, 50, "-_.") {
        errors.push(format!("{FIELD}.plan.name"), format!("{:?} must be 1 to 50 letters, digits, -, _ or .", spec.plan.name));
    }
    if spec.plan.rules.is_empty() || spec.plan.rules.len() > 20 {
        errors.push(format!("{FIELD}.plan.rules"), "must hold 1 to 20 rules");
    }
    if let (Some(min), Some(max)) = (spec.min_retention_days, spec.max_retention_days)
        && min > max
    {
        errors.push(format!("{FIELD}.minRetentionDays"), format!("{min} exceeds maxRetentionDays {max}"));
    }
    for (field, value) in [("minRetentionDays", spec.min_retention_days), ("maxRetentionDays", spec.max_retention_days)] {
        if let Some(days) = value
            && !(1..=36_500).contains(&days)
        {
            errors.push(format!("{FIELD}.{field}"), format!("{days} is outside 1..36500"));
        }
    }
    let mut names = BTreeSet::new();
    let mut rules = Vec::new();
    for (i, rule) in spec.plan.rules.iter().enumerate() {
        let at = format!("{FIELD}.plan.rules[{i}]");
        if !valid_name(&rule.name, 1, 50, "-_.") {
            errors.push(format!("{at}.name"), format!("{:?} must be 1 to 50 letters, digits, -, _ or .", rule.name));
        }
        if !names.insert(rule.name.clone()) {
            errors.push(format!("{at}.name"), format!("{:?} is used by another rule", rule.name));
        }
        if let Err(message) = cron::parse(&rule.schedule) {
            errors.push(format!("{at}.schedule"), message);
        }
        if let Some(tz) = &rule.schedule_expression_timezone
            && !is_time_zone(tz)
        {
            errors.push(format!("{at}.scheduleExpressionTimezone"), format!("{tz:?} is not an IANA time zone such as Europe/Paris"));
        }
        if rule.start_window_minutes < MIN_START_WINDOW {
            errors.push(format!("{at}.startWindowMinutes"), format!("{} is below AWS Backup's minimum of 60", rule.start_window_minutes));
        }
        if rule.completion_window_minutes < rule.start_window_minutes + MIN_WINDOW_GAP {
            errors.push(
                format!("{at}.completionWindowMinutes"),
                format!(
                    "{} must be at least startWindowMinutes + 60 ({})",
                    rule.completion_window_minutes,
                    rule.start_window_minutes + MIN_WINDOW_GAP
                ),
            );
        }
        if !(1..=36_500).contains(&rule.delete_after_days) {
            errors.push(format!("{at}.deleteAfterDays"), format!("{} is outside 1..36500", rule.delete_after_days));
        }
        if let Some(cold) = rule.move_to_cold_storage_after_days
            && rule.delete_after_days < cold.saturating_add(MIN_COLD_DAYS)
        {
            errors.push(
                format!("{at}.deleteAfterDays"),
                format!(
                    "{} must be at least moveToColdStorageAfterDays + 90 ({}): cold storage keeps a recovery point at least 90 days",
                    rule.delete_after_days,
                    cold.saturating_add(MIN_COLD_DAYS)
                ),
            );
        }
        if let Some(min) = spec.min_retention_days
            && rule.delete_after_days < min
        {
            errors.push(format!("{at}.deleteAfterDays"), format!("{} is below minRetentionDays {min}", rule.delete_after_days));
        }
        if let Some(max) = spec.max_retention_days
            && rule.delete_after_days > max
        {
            errors.push(format!("{at}.deleteAfterDays"), format!("{} is above maxRetentionDays {max}", rule.delete_after_days));
        }
        rules.push(BackupRuleDesired {
            name: rule.name.clone(),
            schedule: rule.schedule.clone(),
            timezone: rule.schedule_expression_timezone.clone(),
            start_window_minutes: rule.start_window_minutes,
            completion_window_minutes: rule.completion_window_minutes,
            delete_after_days: rule.delete_after_days,
            cold_after_days: rule.move_to_cold_storage_after_days,
        });
    }
    let selection = &spec.selection;
    let name_prefix = selection.name.clone().unwrap_or_else(|| DEFAULT_SELECTION_NAME.to_string());
    if !valid_name(&name_prefix, 1, 41, "-_.") {
        errors.push(format!("{FIELD}.selection.name"), format!("{name_prefix:?} must be 1 to 41 letters, digits, -, _ or ."));
    }
    if !is_role_arn(&selection.iam_role_arn) {
        errors.push(format!("{FIELD}.selection.iamRoleArn"), format!("{:?} is not an IAM role ARN", selection.iam_role_arn));
    }
    if selection.tags.is_empty() && selection.resources.is_empty() {
        errors.push(format!("{FIELD}.selection"), "backup.selection needs tags, resources or both");
    }
    if selection.tags.len() > 30 {
        errors.push(format!("{FIELD}.selection.tags"), "at most 30 tags");
    }
    check_tags(&format!("{FIELD}.selection.tags"), &selection.tags, errors);
    for (i, arn) in selection.resources.iter().enumerate() {
        if !arn.starts_with("arn:") && arn != "*" {
            errors.push(format!("{FIELD}.selection.resources[{i}]"), format!("{arn:?} is not an ARN"));
        }
    }
    let resources: BTreeSet<String> = selection.resources.iter().cloned().collect();
    let required_tags = spec.coverage.as_ref().map(|c| c.required_tags.clone()).unwrap_or_default();
    check_tags(&format!("{FIELD}.coverage.requiredTags"), &required_tags, errors);
    BackupDesired {
        vault_name: spec.vault.name.clone(),
        vault_create: spec.vault.create,
        kms_key_arn: spec.vault.kms_key_arn.clone(),
        plan_name: spec.plan.name.clone(),
        adopt: spec.plan.adopt,
        rules,
        selection: SelectionDesired {
            name_prefix,
            iam_role_arn: selection.iam_role_arn.clone(),
            tags: selection.tags.clone(),
            resources: resources.into_iter().collect(),
        },
        min_retention_days: spec.min_retention_days,
        max_retention_days: spec.max_retention_days,
        required_tags,
    }
}

fn valid_name(name: &str, min: usize, max: usize, extra: &str) -> bool {
    (min..=max).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

fn is_time_zone(tz: &str) -> bool {
    tz == "UTC"
        || (tz.len() <= 64
            && tz.contains('/')
            && tz.split('/').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c))))
}

#[cfg(test)]
mod tests {
    use super::super::validate;
    use crate::api::CostPolicySpec;

    const BASE: &str = "aws: {region: eu-west-1}
backup:
  vault: {name: prod, create: true}
  plan:
    name: prod-daily
    rules:
      - {name: daily, schedule: 'cron(0 5 ? * * *)', startWindowMinutes: 60, completionWindowMinutes: 180, deleteAfterDays: 35}
  selection: {iamRoleArn: 'arn:aws:iam::111122223333:role/backup', tags: {backup: daily}}
";

    fn with(edit: impl FnOnce(&mut crate::api::BackupSpec)) -> CostPolicySpec {
        let mut spec: CostPolicySpec = serde_yaml::from_str(BASE).expect("fixture parses");
        edit(spec.backup.as_mut().expect("section"));
        spec
    }

    fn fields(spec: &CostPolicySpec) -> Vec<String> {
        validate("p", spec).expect_err("must be invalid").0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_complete_backup_section_validates_with_aws_defaults() {
        let mut spec = with(|_| {});
        let rules = &mut spec.backup.as_mut().expect("section").plan.rules;
        let mut r: crate::api::BackupRuleSpec =
            serde_yaml::from_str("{name: weekly, schedule: 'cron(0 3 ? * SUN *)', deleteAfterDays: 365, moveToColdStorageAfterDays: 30}")
                .expect("rule");
        assert_eq!((r.start_window_minutes, r.completion_window_minutes), (480, 10080));
        r.move_to_cold_storage_after_days = Some(275);
        rules.push(r);
        let backup = validate("p", &spec).expect("valid").backup.expect("section");
        assert_eq!(backup.rules.len(), 2);
        assert_eq!(backup.selection.name_prefix, "frugal");
    }

    #[test]
    fn a_malformed_cron_names_the_rule_schedule() {
        let spec = with(|b| b.plan.rules[0].schedule = "cron(0 5 * * *)".into());
        assert_eq!(fields(&spec), ["spec.backup.plan.rules[0].schedule"]);
        let spec = with(|b| b.plan.rules[0].schedule = "rate(1 day)".into());
        assert_eq!(fields(&spec), ["spec.backup.plan.rules[0].schedule"]);
    }

    #[test]
    fn the_start_window_is_at_least_an_hour() {
        let spec = with(|b| b.plan.rules[0].start_window_minutes = 59);
        assert_eq!(fields(&spec), ["spec.backup.plan.rules[0].startWindowMinutes"]);
    }

    #[test]
    fn the_completion_window_is_an_hour_longer_than_the_start_window() {
        let spec = with(|b| b.plan.rules[0].completion_window_minutes = 119);
        assert_eq!(fields(&spec), ["spec.backup.plan.rules[0].completionWindowMinutes"]);
        assert!(validate("p", &with(|b| b.plan.rules[0].completion_window_minutes = 120)).is_ok());
    }

    #[test]
    fn cold_storage_needs_ninety_days_before_deletion() {
        let spec = with(|b| b.plan.rules[0].move_to_cold_storage_after_days = Some(30));
        assert_eq!(fields(&spec), ["spec.backup.plan.rules[0].deleteAfterDays"]);
        let spec = with(|b| {
            b.plan.rules[0].move_to_cold_storage_after_days = Some(30);
            b.plan.rules[0].delete_after_days = 120;
        });
        assert!(validate("p", &spec).is_ok());
        let spec = with(|b| {
            b.plan.rules[0].move_to_cold_storage_after_days = Some(30);
            b.plan.rules[0].delete_after_days = 119;
        });
        assert_eq!(fields(&spec), ["spec.backup.plan.rules[0].deleteAfterDays"]);
    }

    #[test]
    fn retention_bounds_are_checked_against_every_rule() {
        let spec = with(|b| b.min_retention_days = Some(36));
        assert_eq!(fields(&spec), ["spec.backup.plan.rules[0].deleteAfterDays"]);
        let spec = with(|b| b.max_retention_days = Some(34));
        assert_eq!(fields(&spec), ["spec.backup.plan.rules[0].deleteAfterDays"]);
        let spec = with(|b| {
            b.min_retention_days = Some(40);
            b.max_retention_days = Some(30);
        });
        assert!(fields(&spec).contains(&"spec.backup.minRetentionDays".to_string()));
        assert!(
            validate(
                "p",
                &with(|b| {
                    b.min_retention_days = Some(7);
                    b.max_retention_days = Some(35);
                })
            )
            .is_ok()
        );
    }

    #[test]
    fn names_roles_and_selection_are_checked() {
        assert_eq!(fields(&with(|b| b.vault.name = "x".into())), ["spec.backup.vault.name"]);
        assert_eq!(fields(&with(|b| b.plan.name = "no spaces".into())), ["spec.backup.plan.name"]);
        assert_eq!(fields(&with(|b| b.selection.iam_role_arn = "role/x".into())), ["spec.backup.selection.iamRoleArn"]);
        assert_eq!(fields(&with(|b| b.selection.tags.clear())), ["spec.backup.selection"]);
        assert_eq!(fields(&with(|b| b.plan.rules.clear())), ["spec.backup.plan.rules"]);
        let kms_without_create = with(|b| {
            b.vault.create = false;
            b.vault.kms_key_arn = Some("arn:aws:kms:eu-west-1:111122223333:key/k".into());
        });
        assert_eq!(fields(&kms_without_create), ["spec.backup.vault.kmsKeyArn"]);
        let spec = with(|b| {
            let r = b.plan.rules[0].clone();
            b.plan.rules.push(r);
        });
        assert_eq!(fields(&spec), ["spec.backup.plan.rules[1].name"]);
        let spec = with(|b| b.plan.rules[0].schedule_expression_timezone = Some("Mars Time".into()));
        assert_eq!(fields(&spec), ["spec.backup.plan.rules[0].scheduleExpressionTimezone"]);
    }
}
