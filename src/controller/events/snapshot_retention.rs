//! Events and gauges of the snapshotRetention area: one Event per kind of change per run,
//! not one per snapshot.

use kube::runtime::events::Event;

use crate::engine::AreaPlan;
use crate::engine::areas::SnapshotRetention;
use crate::engine::{AreaOutcome, ErrorKind, Publish};
use crate::metrics::Metrics;
use crate::plan::snapshot_retention::SnapshotRetentionChange;
use crate::pricing::PriceItem;

use super::{normal, observation_failed, warning};

impl Publish for SnapshotRetention {
    fn events(outcome: &AreaOutcome<Self>) -> Vec<Event> {
        let mut events = Vec::new();
        snapshot_events(outcome, &mut events);
        events
    }

    /// Snapshots by state and skip reason, and GiB expired and deleted.
    fn record(metrics: &Metrics, policy: &str, status: &Self::Status) {
        metrics.record_snapshots(policy, status);
    }
}

/// One Event per kind of snapshot change in a run, not one per snapshot.
fn snapshot_events(area: &AreaOutcome<SnapshotRetention>, events: &mut Vec<Event>) {
    if let Some(event) = observation_failed(area, "no snapshot was deleted") {
        events.push(event);
        return;
    }
    let (snapshot_price, basis) = match &area.plan {
        AreaPlan::Planned(plan) => (plan.prices.usd(PriceItem::SnapshotGbMonth), plan.prices.basis_of(&[PriceItem::SnapshotGbMonth])),
        AreaPlan::ObservationFailed(_) => return,
    };
    let mut deleted = Vec::new();
    let mut deleted_gib = 0u64;
    let mut refused = Vec::new();
    let mut failed = Vec::new();
    for result in &area.results {
        match (&result.change, &result.outcome) {
            (SnapshotRetentionChange::TagExpiring { .. }, Ok(_)) => {
                events.push(normal("SnapshotsExpiring", "CreateTags", result.change.describe()))
            }
            (SnapshotRetentionChange::RemoveExpiringTag { .. }, Ok(_)) => {
                events.push(normal("SnapshotsRetained", "DeleteTags", result.change.describe()))
            }
            (SnapshotRetentionChange::Delete { snapshot_id, volume_size_gib, .. }, Ok(_)) => {
                deleted.push(snapshot_id.as_str());
                deleted_gib += u64::from(*volume_size_gib);
            }
            (_, Err(error)) if matches!(error.kind, ErrorKind::Protected(_) | ErrorKind::NotFound | ErrorKind::Throttled) => {
                refused.push(format!("{}: {error}", result.change.describe()));
            }
            (_, Err(error)) => failed.push(format!("{}: {error}", result.change.describe())),
        }
    }
    if !deleted.is_empty() {
        let shown: Vec<&str> = deleted.iter().take(10).copied().collect();
        let more = deleted.len().saturating_sub(shown.len());
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        events.push(normal(
            "SnapshotsDeleted",
            "DeleteSnapshot",
            format!(
                "deleted {} expired snapshots ({deleted_gib} GiB, up to ${:.2}/month at {basis}): {}{more}",
                deleted.len(),
                deleted_gib as f64 * snapshot_price,
                shown.join(", ")
            ),
        ));
    }
    if !refused.is_empty() {
        events.push(normal(
            "SnapshotsKept",
            "DeleteSnapshot",
            format!("{} deletions not made (AWS protects them or asked to slow down): {}", refused.len(), refused.join("; ")),
        ));
    }
    if !failed.is_empty() {
        events.push(warning("ActionFailed", "DeleteSnapshot", format!("{} snapshot changes failed: {}", failed.len(), failed.join("; "))));
    }
}
