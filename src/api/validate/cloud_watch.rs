//! Validation of the `cloudWatch` section.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::{Errors, check_grace_period, check_tags};
use crate::api::{CloudWatchSpec, OrphanAlarms};

/// The retentions CloudWatch Logs accepts (PutRetentionPolicy), in days.
pub const RETENTION_DAYS: [u32; 22] =
    [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
/// As the CRD schema's bounds.
const MAX_DELETIONS_PER_RUN: u32 = 1000;
const MAX_PREFIXES: usize = 50;

/// The validated cloudWatch section.
#[derive(Clone, Debug, PartialEq)]
pub struct CloudWatchDesired {
    pub log_retention: Option<LogRetentionDesired>,
    pub instance_alarms: Option<InstanceAlarmsDesired>,
    pub orphan_alarms: OrphanAlarms,
    pub max_deletions_per_run: u32,
    pub grace_period: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogRetentionDesired {
    pub days: u32,
    pub only_when_unset: bool,
    /// Empty: every log group.
    pub prefixes: BTreeSet<String>,
}

impl LogRetentionDesired {
    pub fn selects(&self, log_group: &str) -> bool {
        self.prefixes.is_empty() || self.prefixes.iter().any(|p| log_group.starts_with(p.as_str()))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct InstanceAlarmsDesired {
    pub status_check: bool,
    pub recover_on_system_failure: bool,
    pub notify: Option<String>,
    /// Instances carrying all these tags; empty: every instance.
    pub selector: BTreeMap<String, String>,
}

/// CloudWatch Logs' log group name characters.
fn is_log_group_prefix(text: &str) -> bool {
    (1..=512).contains(&text.len()) && text.chars().all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c))
}

fn is_sns_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), [arn_, partition, "sns", region, account, name]
        if *arn_ == "arn"
            && partition.starts_with("aws")
            && !region.is_empty()
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            && (1..=256).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c)))
}

pub(super) fn check_cloud_watch(spec: &CloudWatchSpec, errors: &mut Errors) -> CloudWatchDesired {
    const FIELD: &str = "spec.cloudWatch";
    let log_retention = spec.log_retention.as_ref().map(|lr| {
        if !RETENTION_DAYS.contains(&lr.days) {
            errors.push(
                format!("{FIELD}.logRetention.days"),
                format!("{} is not a retention CloudWatch Logs accepts ({RETENTION_DAYS:?})", lr.days),
            );
        }
        let prefixes = lr.selector.clone().unwrap_or_default().log_group_prefixes;
        if prefixes.len() > MAX_PREFIXES {
            errors.push(
                format!("{FIELD}.logRetention.selector.logGroupPrefixes"),
                format!("{} prefixes; at most {MAX_PREFIXES}", prefixes.len()),
            );
        }
        let mut unique = BTreeSet::new();
        for (i, prefix) in prefixes.iter().enumerate() {
            let field = format!("{FIELD}.logRetention.selector.logGroupPrefixes[{i}]");
            if !is_log_group_prefix(prefix) {
                errors.push(field, format!("{prefix:?} is not the start of a log group name (1 to 512 of letters, digits and ._-/#)"));
            } else if !unique.insert(prefix.clone()) {
                errors.push(field, format!("{prefix:?} is listed twice"));
            }
        }
        LogRetentionDesired { days: lr.days, only_when_unset: lr.only_when_unset, prefixes: unique }
    });
    let instance_alarms = spec.instance_alarms.as_ref().map(|ia| {
        if !ia.status_check && !ia.recover_on_system_failure {
            errors.push(format!("{FIELD}.instanceAlarms"), "statusCheck and recoverOnSystemFailure are both false: no alarm to keep");
        }
        if let Some(topic) = &ia.notify
            && !is_sns_topic_arn(topic)
        {
            errors.push(
                format!("{FIELD}.instanceAlarms.notify"),
                format!("{topic:?} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)"),
            );
        }
        let selector = ia.selector.clone().unwrap_or_default().tags;
        check_tags(&format!("{FIELD}.instanceAlarms.selector.tags"), &selector, errors);
        InstanceAlarmsDesired {
            status_check: ia.status_check,
            recover_on_system_failure: ia.recover_on_system_failure,
            notify: ia.notify.clone(),
            selector,
        }
    });
    if !(1..=MAX_DELETIONS_PER_RUN).contains(&spec.max_deletions_per_run) {
        errors.push(format!("{FIELD}.maxDeletionsPerRun"), format!("{} is outside 1..{MAX_DELETIONS_PER_RUN}", spec.max_deletions_per_run));
    }
    let grace_period = check_grace_period(&format!("{FIELD}.gracePeriod"), &spec.grace_period, errors);
    CloudWatchDesired {
        log_retention,
        instance_alarms,
        orphan_alarms: spec.orphan_alarms,
        max_deletions_per_run: spec.max_deletions_per_run,
        grace_period,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CostPolicySpec;
    use crate::api::validate::validate;

    fn spec(section: &str) -> CostPolicySpec {
        serde_yaml::from_str(&format!("aws: {{region: eu-west-1}}\ncloudWatch: {section}\n")).expect("spec parses")
    }

    fn fields(section: &str) -> Vec<String> {
        validate("p", &spec(section)).expect_err("must be invalid").0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn defaults_report_orphans_and_only_set_unset_retentions() {
        let d = validate("p", &spec("{logRetention: {days: 30}, instanceAlarms: {}}")).expect("valid").cloud_watch.expect("cloudWatch");
        let lr = d.log_retention.expect("logRetention");
        assert!(lr.only_when_unset && lr.selects("/anything"));
        let ia = d.instance_alarms.expect("instanceAlarms");
        assert!(ia.status_check && !ia.recover_on_system_failure && ia.notify.is_none());
        assert_eq!((d.orphan_alarms, d.max_deletions_per_run, d.grace_period), (OrphanAlarms::Report, 10, Duration::from_secs(86_400)));
    }

    #[test]
    fn bad_input_names_the_field() {
        assert_eq!(fields("{logRetention: {days: 31}}"), ["spec.cloudWatch.logRetention.days"]);
        assert_eq!(
            fields("{logRetention: {days: 30, selector: {logGroupPrefixes: ['/a', 'b c']}}}"),
            ["spec.cloudWatch.logRetention.selector.logGroupPrefixes[1]"]
        );
        assert_eq!(
            fields("{logRetention: {days: 30, selector: {logGroupPrefixes: ['/a', '/a']}}}"),
            ["spec.cloudWatch.logRetention.selector.logGroupPrefixes[1]"]
        );
        assert_eq!(fields("{instanceAlarms: {statusCheck: false}}"), ["spec.cloudWatch.instanceAlarms"]);
        assert_eq!(fields("{instanceAlarms: {notify: 'arn:aws:sqs:eu-west-1:111122223333:q'}}"), ["spec.cloudWatch.instanceAlarms.notify"]);
        assert_eq!(fields("{maxDeletionsPerRun: 0}"), ["spec.cloudWatch.maxDeletionsPerRun"]);
        assert_eq!(fields("{gracePeriod: 2y}"), ["spec.cloudWatch.gracePeriod"]);
        assert!(validate("p", &spec("{instanceAlarms: {notify: 'arn:aws:sns:ap-northeast-2:111122223333:ops-alerts'}}")).is_ok());
    }
}
