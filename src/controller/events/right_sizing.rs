//! Events of the rightSizing area: the enrollment, Warnings for failures.

use kube::runtime::events::Event;

use crate::engine::areas::RightSizing;
use crate::engine::{AreaOutcome, Publish};
use crate::metrics::Metrics;
use crate::plan::right_sizing::RightSizingChange;

use super::per_change;

/// (reason, action) of a successful change.
fn kind(change: &RightSizingChange) -> (&'static str, &'static str) {
    match change {
        RightSizingChange::Enroll { .. } => ("ComputeOptimizerEnrolled", "UpdateEnrollmentStatus"),
    }
}

impl Publish for RightSizing {
    fn events(outcome: &AreaOutcome<Self>) -> Vec<Event> {
        per_change(outcome, kind)
    }

    fn record(metrics: &Metrics, policy: &str, status: &Self::Status) {
        metrics.record_right_sizing(policy, status);
    }
}
