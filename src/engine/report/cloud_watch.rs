//! Status, condition and cost of the cloudWatch area.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::conditions::{self, ConditionUpdate, reason};
use crate::api::{AreaCost, AreaName, CloudWatchStatus, CostPolicyStatus, LogGroupStatus, OrphanAlarmStatus, usd};
use crate::engine::areas::CloudWatch;
use crate::engine::{AreaKind, AreaOutcome, Report, Run};
use crate::plan::cloud_watch::{CloudWatchChange, CloudWatchPlan, OrphanState, gb};
use crate::pricing::PriceItem;

pub const AREA: &str = AreaName::CloudWatch.key();
const MAX_LISTED: usize = 20;

impl Report for CloudWatch {
    fn status_of(status: &CostPolicyStatus) -> Option<&Self::Status> {
        status.cloud_watch.as_ref()
    }

    fn status_slot(status: &mut CostPolicyStatus) -> &mut Option<Self::Status> {
        &mut status.cloud_watch
    }

    fn findings(status: &Self::Status) -> u32 {
        status.findings
    }

    fn details(plan: &Self::Plan, outcome: &AreaOutcome<Self>, previous: Option<&Self::Status>, _now: &Time) -> (Self::Status, AreaCost) {
        details(plan, outcome, previous)
    }

    fn condition(outcome: &AreaOutcome<Self>, status: Option<&Self::Status>, audit: bool) -> ConditionUpdate {
        condition(outcome, status, audit)
    }

    /// Never called: no conflict rule names this area (a second policy's alarms have names of
    /// their own, and PutRetentionPolicy to the same value twice is harmless).
    fn conflict_message(others: &[&str], _outcome: &AreaOutcome<Self>) -> String {
        format!("{} governs the same log groups and instances as CostPolicy {}", Self::NAME, others.join(", "))
    }
}

/// True when the change was made (or, for a deletion, the alarm is gone anyway).
fn done(outcome: &AreaOutcome<CloudWatch>, wanted: impl Fn(&CloudWatchChange) -> bool) -> impl Iterator<Item = &CloudWatchChange> {
    outcome
        .results
        .iter()
        .filter(move |r| wanted(&r.change) && r.outcome.as_ref().err().is_none_or(|e| !CloudWatch::is_failure(&r.change, e)))
        .map(|r| &r.change)
}

fn failed(outcome: &AreaOutcome<CloudWatch>, wanted: impl Fn(&CloudWatchChange) -> bool) -> bool {
    outcome.failed_changes().any(|(c, _)| wanted(c))
}

fn details(plan: &CloudWatchPlan, outcome: &AreaOutcome<CloudWatch>, previous: Option<&CloudWatchStatus>) -> (CloudWatchStatus, AreaCost) {
    let retention_set: Vec<&str> = done(outcome, |c| matches!(c, CloudWatchChange::SetRetention { .. }))
        .filter_map(|c| match c {
            CloudWatchChange::SetRetention { log_group, .. } => Some(log_group.as_str()),
            _ => None,
        })
        .collect();
    let created: Vec<&str> = done(outcome, |c| matches!(c, CloudWatchChange::PutAlarm { reverted, .. } if reverted.is_empty()))
        .filter_map(|c| match c {
            CloudWatchChange::PutAlarm { alarm, .. } => Some(alarm.instance_id.as_str()),
            _ => None,
        })
        .collect();
    let reverted = done(outcome, |c| matches!(c, CloudWatchChange::PutAlarm { reverted, .. } if !reverted.is_empty())).count() as u32;
    let deleted: Vec<&str> = done(outcome, |c| matches!(c, CloudWatchChange::DeleteAlarm { .. }))
        .filter_map(|c| match c {
            CloudWatchChange::DeleteAlarm { alarm_name, .. } => Some(alarm_name.as_str()),
            _ => None,
        })
        .collect();
    let marked_now: Vec<&str> = done(outcome, |c| matches!(c, CloudWatchChange::MarkOrphan { .. }))
        .filter_map(|c| match c {
            CloudWatchChange::MarkOrphan { alarm_name, .. } => Some(alarm_name.as_str()),
            _ => None,
        })
        .collect();

    let mut log_groups = Vec::new();
    let (mut never_expire, mut never_expire_bytes, mut saved_bytes) = (0u32, 0u64, 0u64);
    for group in &plan.log_groups_to_fix {
        let set = retention_set.contains(&group.name.as_str());
        let state = if set {
            saved_bytes += if group.retention_days.is_none() { group.stored_bytes } else { 0 };
            "RetentionSet"
        } else if failed(outcome, |c| matches!(c, CloudWatchChange::SetRetention { log_group, .. } if log_group == &group.name)) {
            "Failed"
        } else {
            "Reported"
        };
        if !set && group.retention_days.is_none() {
            never_expire += 1;
            never_expire_bytes += group.stored_bytes;
        }
        log_groups.push(LogGroupStatus {
            name: group.name.clone(),
            stored_gb: format!("{:.2}", gb(group.stored_bytes)),
            retention_days: group.retention_days,
            state: state.to_string(),
        });
    }
    log_groups.truncate(MAX_LISTED);

    let mut orphans = Vec::new();
    let (mut open_orphans, mut expiring) = (0u32, 0u32);
    for orphan in &plan.orphans {
        let state = if deleted.contains(&orphan.alarm_name.as_str()) {
            "Deleted"
        } else if failed(
            outcome,
            |c| matches!(c, CloudWatchChange::DeleteAlarm { alarm_name, .. } | CloudWatchChange::MarkOrphan { alarm_name, .. } if alarm_name == &orphan.alarm_name),
        ) {
            "Failed"
        } else {
            match orphan.state {
                OrphanState::Expiring | OrphanState::Deleting
                    if orphan.state == OrphanState::Expiring || marked_now.contains(&orphan.alarm_name.as_str()) =>
                {
                    "Expiring"
                }
                OrphanState::Kept => "Kept",
                _ => "Reported",
            }
        };
        if state != "Deleted" {
            open_orphans += 1;
        }
        if state == "Expiring" {
            expiring += 1;
        }
        orphans.push(OrphanAlarmStatus {
            alarm_name: orphan.alarm_name.clone(),
            instance_id: orphan.instance_id.clone(),
            state: state.to_string(),
        });
    }
    orphans.truncate(MAX_LISTED);

    let without_alarms = plan.instances_without_alarms.iter().filter(|i| !created.contains(&i.as_str())).count() as u32;
    let not_in_line = plan.log_groups_to_fix.len() as u32 - retention_set.len() as u32;
    let status = CloudWatchStatus {
        findings: not_in_line + without_alarms + open_orphans + outcome.failed_changes().count() as u32,
        log_groups_in_scope: plan.log_groups_in_scope,
        log_groups_never_expire: never_expire,
        never_expire_stored_gb: format!("{:.2}", gb(never_expire_bytes)),
        retention_set_last_run: retention_set.len() as u32,
        instances_in_scope: plan.instances_in_scope,
        instances_without_alarms: without_alarms,
        alarms_created_last_run: created.len() as u32,
        alarms_reverted_last_run: reverted,
        alarms_adopted: plan.adopted.len() as u32,
        orphan_alarms: open_orphans,
        orphan_alarms_expiring: expiring,
        orphan_alarms_deleted_last_run: deleted.len() as u32,
        orphan_alarms_deleted_total: previous.map_or(0, |p| p.orphan_alarms_deleted_total) + deleted.len() as u64,
        log_groups,
        orphans,
    };
    let (logs, alarm) = (plan.prices.usd(PriceItem::LogsGbMonth), plan.prices.usd(PriceItem::AlarmMonth));
    let cost = AreaCost {
        area: AREA.to_string(),
        monthly_waste_usd: usd(gb(never_expire_bytes) * logs + f64::from(open_orphans) * alarm),
        monthly_savings_usd: usd(gb(saved_bytes) * logs + deleted.len() as f64 * alarm),
        monthly_cost_usd: usd(f64::from(plan.own_alarms) * alarm),
        basis: format!(
            "upper bound: log groups that never expire × their stored GB, orphan alarms × one alarm-month (a retention removes only \
             data older than it); cost: this policy's alarms × one alarm-month; at {}",
            plan.prices.basis_of(&[PriceItem::LogsGbMonth, PriceItem::AlarmMonth])
        ),
        measured: None,
    };
    (status, cost)
}

fn condition(outcome: &AreaOutcome<CloudWatch>, status: Option<&CloudWatchStatus>, audit: bool) -> ConditionUpdate {
    let type_ = conditions::CLOUD_WATCH_IN_SYNC;
    let (plan, status) = match super::observed_without_failures(type_, outcome, status) {
        Ok(judged) => judged,
        Err(condition) => return condition,
    };
    let summary = format!(
        "log groups never expiring: {} ({} GB); instances without their alarms: {} of {}; orphan alarms: {}",
        status.log_groups_never_expire,
        status.never_expire_stored_gb,
        status.instances_without_alarms,
        status.instances_in_scope,
        status.orphan_alarms
    );
    if audit && !plan.drift.is_empty() {
        return ConditionUpdate::new(
            type_,
            false,
            reason::DRIFT_FOUND,
            format!("Audit mode: {summary}; {} changes planned, nothing was changed", plan.drift.len()),
        );
    }
    if status.orphan_alarms_expiring > 0 {
        return ConditionUpdate::new(
            type_,
            false,
            reason::DELETION_PENDING,
            format!("{} orphan alarms tagged, deleted after the grace period; {summary}", status.orphan_alarms_expiring),
        );
    }
    let open = if status.findings > 0 { format!("; {} findings reported", status.findings) } else { String::new() };
    if outcome.results.is_empty() {
        ConditionUpdate::new(type_, true, reason::IN_SYNC, format!("{summary}{open}"))
    } else {
        ConditionUpdate::new(
            type_,
            true,
            reason::RECONCILED,
            format!(
                "retention set: {}, alarms created: {}, put back: {}, orphan alarms deleted: {}; {summary}{open}",
                status.retention_set_last_run,
                status.alarms_created_last_run,
                status.alarms_reverted_last_run,
                status.orphan_alarms_deleted_last_run
            ),
        )
    }
}
