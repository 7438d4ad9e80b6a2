//! `frugal plan` rendering of the cloudWatch area: retentions, alarms, orphan alarms.

use std::fmt::Write;

use serde_json::json;

use crate::api::usd;
use crate::engine::areas::CloudWatch;
use crate::engine::{AreaOutcome, Output, PlanCounts};
use crate::plan::cloud_watch::{CloudWatchChange, CloudWatchPlan, OrphanState, gb};
use crate::pricing::{PriceItem, unit_price};

use super::{AreaJson, results_json};

const MAX_LISTED: usize = 20;

impl Output for CloudWatch {
    fn plan_section(out: &mut String, plan: &Self::Plan) -> PlanCounts {
        cloud_watch_table(out, plan);
        let create = plan.drift.iter().filter(|c| matches!(c, CloudWatchChange::PutAlarm { reverted, .. } if reverted.is_empty())).count();
        let destroy = plan.drift.iter().filter(|c| matches!(c, CloudWatchChange::DeleteAlarm { .. })).count();
        let logs = gb(plan.never_expire_bytes()) * plan.prices.usd(PriceItem::LogsGbMonth);
        let orphans = plan.orphans.len() as f64 * plan.prices.usd(PriceItem::AlarmMonth);
        let waste = (logs + orphans > 0.0).then(|| {
            format!(
                "Log storage that never expires: ${}/month, orphan alarms: ${}/month (upper bound, at ${}/GB-month and ${}/alarm-month)",
                usd(logs),
                usd(orphans),
                unit_price(plan.prices.usd(PriceItem::LogsGbMonth)),
                unit_price(plan.prices.usd(PriceItem::AlarmMonth))
            )
        });
        PlanCounts { create, change: plan.drift.len() - create - destroy, destroy, waste }
    }

    fn describe(change: &Self::Change) -> String {
        change.describe()
    }

    fn objects(_change: &Self::Change) -> usize {
        1
    }

    type Json<'a> = AreaJson<serde_json::Value>;

    fn json(outcome: &AreaOutcome<Self>) -> Self::Json<'_> {
        AreaJson::of(outcome, |plan| {
            json!({
                "drift": plan.drift,
                "adopted": plan.adopted,
                "namesTaken": plan.names_taken,
                "orphans": plan.orphans,
                "results": results_json(&outcome.results),
            })
        })
    }
}

fn cloud_watch_table(out: &mut String, plan: &CloudWatchPlan) {
    let _ = writeln!(
        out,
        "cloudWatch: {} log groups in scope, {} running instances in scope, {} orphan alarms",
        plan.log_groups_in_scope,
        plan.instances_in_scope,
        plan.orphans.len()
    );
    for change in plan.drift.iter().take(MAX_LISTED) {
        let mark = match change {
            CloudWatchChange::PutAlarm { reverted, .. } if reverted.is_empty() => "+",
            CloudWatchChange::DeleteAlarm { .. } => "-",
            _ => "~",
        };
        let cost = match change {
            CloudWatchChange::SetRetention { stored_bytes, previous_days: None, .. } => {
                format!(
                    " ({:.2} GB stored, ${}/month)",
                    gb(*stored_bytes),
                    usd(gb(*stored_bytes) * plan.prices.usd(PriceItem::LogsGbMonth))
                )
            }
            _ => String::new(),
        };
        let _ = writeln!(out, "  {mark} {}{cost}", change.describe());
    }
    if plan.drift.len() > MAX_LISTED {
        let _ = writeln!(out, "    ... and {} more", plan.drift.len() - MAX_LISTED);
    }
    for name in &plan.adopted {
        let _ = writeln!(out, "  = alarm {name} (someone else's) watches an instance: adopted, never rewritten");
    }
    for name in &plan.names_taken {
        let _ = writeln!(out, "  ! alarm {name} exists and is not this policy's: not rewritten, the instance has no alarm of this policy");
    }
    for orphan in plan.orphans.iter().filter(|o| matches!(o.state, OrphanState::Reported | OrphanState::Kept)).take(MAX_LISTED) {
        let why = if orphan.state == OrphanState::Kept { ", someone else's: kept (orphanAlarms Delete)" } else { "" };
        let _ = writeln!(out, "  ! orphan alarm {} (instance {} is gone){why}", orphan.alarm_name, orphan.instance_id);
    }
    if plan.deletions_deferred > 0 {
        let _ = writeln!(out, "  = {} deletions wait for a later run (maxDeletionsPerRun)", plan.deletions_deferred);
    }
}
