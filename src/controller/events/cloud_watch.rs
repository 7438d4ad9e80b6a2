//! Events of the cloudWatch area: one per kind of change per run, Warnings for failures.

use kube::runtime::events::Event;

use crate::engine::areas::CloudWatch;
use crate::engine::{AreaOutcome, Publish};
use crate::metrics::Metrics;
use crate::plan::cloud_watch::CloudWatchChange;

use super::per_change;

/// (reason, action) of a successful change.
fn kind(change: &CloudWatchChange) -> (&'static str, &'static str) {
    match change {
        CloudWatchChange::SetRetention { .. } => ("CloudWatchRetentionSet", "PutRetentionPolicy"),
        CloudWatchChange::PutAlarm { reverted, .. } if reverted.is_empty() => ("CloudWatchAlarmsCreated", "PutMetricAlarm"),
        CloudWatchChange::PutAlarm { .. } => ("CloudWatchAlarmsReverted", "PutMetricAlarm"),
        CloudWatchChange::MarkOrphan { .. } => ("CloudWatchOrphanAlarmsExpiring", "TagResource"),
        CloudWatchChange::DeleteAlarm { .. } => ("CloudWatchOrphanAlarmsDeleted", "DeleteAlarms"),
        CloudWatchChange::UnmarkOrphan { .. } => ("CloudWatchOrphanAlarmsKept", "UntagResource"),
    }
}

impl Publish for CloudWatch {
    fn events(outcome: &AreaOutcome<Self>) -> Vec<Event> {
        per_change(outcome, kind)
    }

    /// The findings and dollars every area publishes say it all.
    fn record(_metrics: &Metrics, _policy: &str, _status: &Self::Status) {}
}
