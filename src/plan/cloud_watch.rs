//! CloudWatch: log retention, instance status-check alarms, orphan alarms. Safety rules 10
//! and 11 live here: no log group or log data is deleted and an explicit retention is never
//! shortened unless the spec says so (only PutRetentionPolicy is planned); an alarm made by
//! someone else is never rewritten (only this policy's alarms, by their deterministic name
//! and tags, are put) and is deleted only when its instance no longer exists (stopped is not
//! gone) and the spec says DeleteAll; an orphan is first tagged, deleted after the grace
//! period, at most maxDeletionsPerRun a run. Audit plans nothing.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use crate::api::OrphanAlarms;
use crate::api::names::TAG_EXPIRES_AT;
use crate::api::validate::CloudWatchDesired;
use crate::pricing::Prices;

use super::snapshot_retention::{parse_rfc3339, rfc3339};
use super::{Tags, is_owned_by, ownership_tags};

const GB: f64 = 1_000_000_000.0;

/// Bytes as GB (CloudWatch Logs bills decimal GB).
pub fn gb(bytes: u64) -> f64 {
    bytes as f64 / GB
}

/// The dimension that names an instance.
pub const INSTANCE_ID: &str = "InstanceId";
pub const NAMESPACE: &str = "AWS/EC2";
/// How the operator's alarms decide: the metric's Maximum over 1-minute periods is at least
/// 1 for 2 periods in a row.
pub const STATISTIC: &str = "Maximum";
pub const PERIOD_SECONDS: i32 = 60;
pub const EVALUATION_PERIODS: i32 = 2;
pub const THRESHOLD: f64 = 1.0;
pub const COMPARISON: &str = "GreaterThanOrEqualToThreshold";
/// CloudWatch alarm names are at most 255 characters.
const MAX_ALARM_NAME: usize = 255;

/// A log group in the retention scope.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogGroup {
    pub name: String,
    /// None: never expire.
    pub retention_days: Option<u32>,
    pub stored_bytes: u64,
}

/// An instance of the region, whatever its state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Instance {
    pub id: String,
    /// EC2's state name: pending, running, stopping, stopped, shutting-down, terminated.
    pub state: String,
    pub tags: Tags,
}

/// A metric alarm as CloudWatch describes it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Alarm {
    pub name: String,
    pub arn: String,
    pub namespace: String,
    pub metric: String,
    pub dimensions: BTreeMap<String, String>,
    pub statistic: String,
    pub period: i32,
    pub evaluation_periods: i32,
    pub threshold: f64,
    pub comparison: String,
    pub actions: BTreeSet<String>,
    /// Read for the alarms the plan decides on by tag (orphans, and alarms named like this
    /// policy's); None when not read.
    pub tags: Option<Tags>,
}

impl Alarm {
    pub fn instance_id(&self) -> Option<&str> {
        self.dimensions.get(INSTANCE_ID).map(String::as_str)
    }
}

/// Everything this area needs to decide. Built only when every source was read in full.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CloudWatchInventory {
    /// The log groups of the retention scope (none without logRetention).
    pub log_groups: Vec<LogGroup>,
    /// Every instance of the region, to tell a gone instance from a stopped one.
    pub instances: Vec<Instance>,
    pub alarms: Vec<Alarm>,
}

/// True when `alarm` watches an instance that no longer exists (terminated, or unknown to
/// EC2); a stopped instance is not gone. The adapter reads the tags of these.
pub fn is_orphan(alarm: &Alarm, instances: &[Instance]) -> bool {
    alarm.instance_id().is_some_and(|id| instances.iter().find(|i| i.id == id).is_none_or(|i| i.state == "terminated"))
}

/// The prefix of every alarm name of `policy`: the adapter reads the tags of alarms so named.
pub fn alarm_name_prefix(policy: &str) -> String {
    format!("frugal-{policy}-")
}

/// The two alarms the operator keeps on an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum AlarmKind {
    /// StatusCheckFailed: notifies.
    StatusCheck,
    /// StatusCheckFailed_System: recovers the instance and notifies.
    SystemRecover,
}

impl AlarmKind {
    pub fn metric(self) -> &'static str {
        match self {
            AlarmKind::StatusCheck => "StatusCheckFailed",
            AlarmKind::SystemRecover => "StatusCheckFailed_System",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            AlarmKind::StatusCheck => "status-check",
            AlarmKind::SystemRecover => "system-recover",
        }
    }
}

/// An alarm as this policy declares it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredAlarm {
    pub name: String,
    pub instance_id: String,
    pub kind: AlarmKind,
    /// Alarm actions, sorted: the recover action and the SNS topic.
    pub actions: Vec<String>,
    pub tags: Tags,
}

/// The deterministic name of `policy`'s alarm of `kind` on `instance` (a retry or crash never
/// makes a second one); a policy name too long for CloudWatch's limit is cut and the cut
/// told apart by a hash of the whole name.
pub fn alarm_name(policy: &str, instance: &str, kind: AlarmKind) -> String {
    let name = format!("{}{instance}-{}", alarm_name_prefix(policy), kind.suffix());
    if name.len() <= MAX_ALARM_NAME {
        return name;
    }
    let hash: String = Sha256::digest(policy.as_bytes()).iter().take(4).map(|b| format!("{b:02x}")).collect();
    let room = MAX_ALARM_NAME - format!("frugal--{hash}-{instance}-{}", kind.suffix()).len();
    // Policy names are DNS subdomains (ASCII): any byte is a char boundary.
    format!("frugal-{}-{hash}-{instance}-{}", &policy[..room.min(policy.len())], kind.suffix())
}

fn desired_alarm(policy: &str, region: &str, instance: &str, kind: AlarmKind, notify: Option<&String>) -> DesiredAlarm {
    let mut actions: Vec<String> = notify.cloned().into_iter().collect();
    if kind == AlarmKind::SystemRecover {
        actions.push(format!("arn:aws:automate:{region}:ec2:recover"));
    }
    actions.sort();
    DesiredAlarm {
        name: alarm_name(policy, instance, kind),
        instance_id: instance.to_string(),
        kind,
        actions,
        tags: ownership_tags(policy),
    }
}

/// How `alarm` differs from `desired`, in words; empty when it is as declared.
fn differences(alarm: &Alarm, desired: &DesiredAlarm) -> Vec<String> {
    let mut found = Vec::new();
    let mut differ = |what: &str, is: String, wanted: String| {
        if is != wanted {
            found.push(format!("{what} {is} → {wanted}"));
        }
    };
    differ("metric", format!("{}/{}", alarm.namespace, alarm.metric), format!("{NAMESPACE}/{}", desired.kind.metric()));
    differ("instance", alarm.instance_id().unwrap_or("none").to_string(), desired.instance_id.clone());
    differ("statistic", alarm.statistic.clone(), STATISTIC.to_string());
    differ("period", alarm.period.to_string(), PERIOD_SECONDS.to_string());
    differ("evaluation periods", alarm.evaluation_periods.to_string(), EVALUATION_PERIODS.to_string());
    differ("threshold", alarm.threshold.to_string(), THRESHOLD.to_string());
    differ("comparison", alarm.comparison.clone(), COMPARISON.to_string());
    let actions: Vec<String> = alarm.actions.iter().cloned().collect();
    differ("actions", format!("{actions:?}"), format!("{:?}", desired.actions));
    found
}

/// A change to AWS.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum CloudWatchChange {
    /// PutRetentionPolicy (never a deletion).
    SetRetention { log_group: String, days: u32, previous_days: Option<u32>, stored_bytes: u64 },
    /// PutMetricAlarm of this policy's alarm: created, or put back as declared (`reverted`
    /// says what someone changed).
    PutAlarm { alarm: DesiredAlarm, reverted: Vec<String> },
    /// TagResource frugal.dev/expires-at on an orphan alarm.
    MarkOrphan { alarm_name: String, alarm_arn: String, instance_id: String, expires_at: String },
    /// DeleteAlarms of one alarm: an orphan, or this policy's own at cleanup.
    DeleteAlarm { alarm_name: String, instance_id: String },
    /// UntagResource frugal.dev/expires-at: the orphan is no longer to be deleted.
    UnmarkOrphan { alarm_name: String, alarm_arn: String },
}

use serde::Serialize;

impl CloudWatchChange {
    /// One line for `frugal plan` and Events.
    pub fn describe(&self) -> String {
        match self {
            CloudWatchChange::SetRetention { log_group, days, previous_days, .. } => match previous_days {
                None => format!("set retention of log group {log_group} to {days} days (was never expire)"),
                Some(previous) => format!("set retention of log group {log_group} to {days} days (was {previous})"),
            },
            CloudWatchChange::PutAlarm { alarm, reverted } if reverted.is_empty() => {
                format!("create alarm {} ({} of {})", alarm.name, alarm.kind.metric(), alarm.instance_id)
            }
            CloudWatchChange::PutAlarm { alarm, reverted } => {
                format!("put alarm {} back as declared ({})", alarm.name, reverted.join(", "))
            }
            CloudWatchChange::MarkOrphan { alarm_name, instance_id, expires_at, .. } => {
                format!("tag orphan alarm {alarm_name} (instance {instance_id} is gone), deleted after {expires_at}")
            }
            CloudWatchChange::DeleteAlarm { alarm_name, instance_id } => {
                format!("delete orphan alarm {alarm_name} (instance {instance_id} is gone)")
            }
            CloudWatchChange::UnmarkOrphan { alarm_name, .. } => format!("untag orphan alarm {alarm_name}: no longer to be deleted"),
        }
    }
}

/// Where an orphan alarm stands after the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum OrphanState {
    /// orphanAlarms Report, or waiting for the cap.
    Reported,
    /// Tagged, waiting for the grace period (or tagged by this run).
    Expiring,
    /// To be deleted by this run.
    Deleting,
    /// Someone else's, with orphanAlarms Delete: never deleted.
    Kept,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrphanReport {
    pub alarm_name: String,
    pub instance_id: String,
    pub state: OrphanState,
}

/// The plan for one policy's cloudWatch section.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CloudWatchPlan {
    pub drift: Vec<CloudWatchChange>,
    /// The drift in Enforce mode, nothing in Audit mode.
    pub actions: Vec<CloudWatchChange>,
    pub log_groups_in_scope: u32,
    /// Log groups in scope without the wanted retention, largest first.
    pub log_groups_to_fix: Vec<LogGroup>,
    pub instances_in_scope: u32,
    /// Running instances in scope missing one of their alarms.
    pub instances_without_alarms: BTreeSet<String>,
    /// Someone else's alarms on the same metric and instance, used instead of making one.
    pub adopted: Vec<String>,
    /// Alarm names this policy would use that an alarm not tagged as this policy's holds.
    pub names_taken: Vec<String>,
    /// This policy's alarms once the plan is done (what the spec keeps paying for).
    pub own_alarms: u32,
    pub orphans: Vec<OrphanReport>,
    /// Orphans due for deletion left for a later run by maxDeletionsPerRun.
    pub deletions_deferred: u32,
    /// The run's prices: log storage and alarms.
    pub prices: Prices,
}

impl CloudWatchPlan {
    /// GB stored by the log groups in scope that never expire.
    pub fn never_expire_bytes(&self) -> u64 {
        self.log_groups_to_fix.iter().filter(|g| g.retention_days.is_none()).map(|g| g.stored_bytes).sum()
    }
}

/// Plans `policy`'s cloudWatch area in `region` at `now` (Unix seconds); `enforce` false is Audit.
pub fn plan(
    policy: &str,
    region: &str,
    desired: &CloudWatchDesired,
    inventory: &CloudWatchInventory,
    now: i64,
    enforce: bool,
) -> CloudWatchPlan {
    let mut plan = CloudWatchPlan::default();

    if let Some(retention) = &desired.log_retention {
        let mut groups: Vec<&LogGroup> = inventory.log_groups.iter().filter(|g| retention.selects(&g.name)).collect();
        groups.sort_by(|a, b| b.stored_bytes.cmp(&a.stored_bytes).then_with(|| a.name.cmp(&b.name)));
        plan.log_groups_in_scope = groups.len() as u32;
        for group in groups {
            let fix = match group.retention_days {
                None => true,
                // Longer than wanted is shortened only when the spec says so; shorter never lengthened.
                Some(days) => !retention.only_when_unset && days > retention.days,
            };
            if fix {
                plan.drift.push(CloudWatchChange::SetRetention {
                    log_group: group.name.clone(),
                    days: retention.days,
                    previous_days: group.retention_days,
                    stored_bytes: group.stored_bytes,
                });
                plan.log_groups_to_fix.push(group.clone());
            }
        }
    }

    let owned = |alarm: &Alarm| alarm.tags.as_ref().is_some_and(|t| is_owned_by(t, policy));
    if let Some(alarms) = &desired.instance_alarms {
        let mut instances: Vec<&Instance> =
            inventory.instances.iter().filter(|i| i.state == "running" && crate::api::carries_all(&i.tags, &alarms.selector)).collect();
        instances.sort_by(|a, b| a.id.cmp(&b.id));
        plan.instances_in_scope = instances.len() as u32;
        let kinds: Vec<AlarmKind> =
            [(alarms.status_check, AlarmKind::StatusCheck), (alarms.recover_on_system_failure, AlarmKind::SystemRecover)]
                .into_iter()
                .filter_map(|(wanted, kind)| wanted.then_some(kind))
                .collect();
        for instance in instances {
            for &kind in &kinds {
                let wanted = desired_alarm(policy, region, &instance.id, kind, alarms.notify.as_ref());
                let named = inventory.alarms.iter().find(|a| a.name == wanted.name);
                let watching =
                    |a: &&Alarm| a.namespace == NAMESPACE && a.metric == kind.metric() && a.instance_id() == Some(instance.id.as_str());
                match named {
                    Some(ours) if owned(ours) => {
                        plan.own_alarms += 1;
                        let reverted = differences(ours, &wanted);
                        if !reverted.is_empty() {
                            plan.drift.push(CloudWatchChange::PutAlarm { alarm: wanted, reverted });
                        }
                    }
                    // Someone else's alarm holds the name: never rewritten.
                    Some(theirs) => {
                        plan.names_taken.push(theirs.name.clone());
                        plan.instances_without_alarms.insert(instance.id.clone());
                    }
                    None => match inventory.alarms.iter().find(watching) {
                        Some(theirs) => plan.adopted.push(theirs.name.clone()),
                        None => {
                            plan.own_alarms += 1;
                            plan.instances_without_alarms.insert(instance.id.clone());
                            plan.drift.push(CloudWatchChange::PutAlarm { alarm: wanted, reverted: Vec::new() });
                        }
                    },
                }
            }
        }
    }

    let grace = i64::try_from(desired.grace_period.as_secs()).unwrap_or(i64::MAX / 2);
    let mut orphans: Vec<&Alarm> = inventory.alarms.iter().filter(|a| is_orphan(a, &inventory.instances)).collect();
    orphans.sort_by(|a, b| a.name.cmp(&b.name));
    let mut deletions = Vec::new();
    for alarm in orphans {
        let instance_id = alarm.instance_id().unwrap_or_default().to_string();
        let deletable = match desired.orphan_alarms {
            OrphanAlarms::Report => false,
            OrphanAlarms::Delete => owned(alarm),
            OrphanAlarms::DeleteAll => true,
        };
        let mark = alarm.tags.as_ref().and_then(|t| t.get(TAG_EXPIRES_AT)).map(|v| parse_rfc3339(v));
        let state = match (deletable, mark) {
            (false, Some(_)) => {
                plan.drift.push(CloudWatchChange::UnmarkOrphan { alarm_name: alarm.name.clone(), alarm_arn: alarm.arn.clone() });
                OrphanState::Reported
            }
            (false, None) if desired.orphan_alarms == OrphanAlarms::Delete => OrphanState::Kept,
            (false, None) => OrphanState::Reported,
            (true, Some(Some(at))) if at <= now => {
                deletions.push(CloudWatchChange::DeleteAlarm { alarm_name: alarm.name.clone(), instance_id: instance_id.clone() });
                OrphanState::Deleting
            }
            (true, Some(Some(_))) => OrphanState::Expiring,
            (true, None) if grace == 0 => {
                deletions.push(CloudWatchChange::DeleteAlarm { alarm_name: alarm.name.clone(), instance_id: instance_id.clone() });
                OrphanState::Deleting
            }
            // Unmarked, or a mark someone edited into something else: the grace period starts now.
            (true, _) => {
                plan.drift.push(CloudWatchChange::MarkOrphan {
                    alarm_name: alarm.name.clone(),
                    alarm_arn: alarm.arn.clone(),
                    instance_id: instance_id.clone(),
                    expires_at: rfc3339(now.saturating_add(grace)),
                });
                OrphanState::Expiring
            }
        };
        plan.orphans.push(OrphanReport { alarm_name: alarm.name.clone(), instance_id, state });
    }
    let cap = desired.max_deletions_per_run as usize;
    let deferred = deletions.split_off(cap.min(deletions.len()));
    for change in &deferred {
        if let CloudWatchChange::DeleteAlarm { alarm_name, .. } = change
            && let Some(report) = plan.orphans.iter_mut().find(|o| &o.alarm_name == alarm_name)
        {
            report.state = OrphanState::Expiring;
        }
    }
    plan.deletions_deferred = deferred.len() as u32;
    plan.drift.extend(deletions);
    plan.actions = if enforce { plan.drift.clone() } else { Vec::new() };
    plan
}

/// What deletionPolicy Delete removes: this policy's alarms (by name and tags). Retentions it
/// set stay (removing one would keep logs forever), and so do other alarms.
pub fn plan_cleanup(policy: &str, inventory: &CloudWatchInventory) -> Vec<CloudWatchChange> {
    let prefix = alarm_name_prefix(policy);
    let mut names: Vec<&Alarm> = inventory
        .alarms
        .iter()
        .filter(|a| a.name.starts_with(&prefix) && a.tags.as_ref().is_some_and(|t| is_owned_by(t, policy)))
        .collect();
    names.sort_by(|a, b| a.name.cmp(&b.name));
    names
        .into_iter()
        .map(|a| CloudWatchChange::DeleteAlarm { alarm_name: a.name.clone(), instance_id: a.instance_id().unwrap_or_default().to_string() })
        .collect()
}

#[cfg(test)]
mod tests;
