//! Kubernetes Events: one for every AWS change and every error.

use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder};

use crate::api::CostPolicy;
use crate::api::conditions::{self, reason};
use crate::engine::report;
use crate::engine::{AppliedRun, AreaPlan};
use crate::engine::{AreaOutcome, ErrorKind};
use crate::plan::gateway_endpoints::GatewayEndpointsChange;
use crate::plan::snapshot_retention::{SNAPSHOT_USD_PER_GB_MONTH, SnapshotRetentionChange, SnapshotRetentionPlan};

use super::Context;

mod backup;
mod ssm_access;

/// Event notes are limited to 1 kB by the API server.
const MAX_NOTE: usize = 1000;

pub fn normal(reason: &str, action: &str, note: String) -> Event {
    Event { type_: EventType::Normal, reason: reason.to_string(), note: Some(truncate(note)), action: action.to_string(), secondary: None }
}

pub fn warning(reason: &str, action: &str, note: String) -> Event {
    Event { type_: EventType::Warning, reason: reason.to_string(), note: Some(truncate(note)), action: action.to_string(), secondary: None }
}

fn truncate(mut note: String) -> String {
    if note.len() > MAX_NOTE {
        let mut cut = MAX_NOTE - 3;
        while !note.is_char_boundary(cut) {
            cut -= 1;
        }
        note.truncate(cut);
        note.push_str("...");
    }
    note
}

/// The Events that describe a run: every change made or failed, and observation failures.
/// Changes of one kind (type, reason, action) share one Event that lists them all: the
/// Recorder would fold a second Event of that kind into the first, losing its note.
pub fn for_run(applied: &AppliedRun) -> Vec<Event> {
    let mut events = Vec::new();
    let conflicts: Vec<String> = [conditions::SNAPSHOTS_IN_SYNC, conditions::GATEWAY_ENDPOINTS_IN_SYNC]
        .into_iter()
        .filter_map(|type_| report::conflict_message(type_, applied))
        .collect();
    if !conflicts.is_empty() {
        events.push(warning(reason::CONFLICT, "Plan", conflicts.join("; ")));
    }
    if let Some(area) = &applied.gateway_endpoints {
        if let AreaPlan::ObservationFailed(error) = &area.plan {
            events.push(warning("ObservationFailed", "Observe", format!("gatewayEndpoints: {error}; nothing was changed")));
        }
        let mut kinds: Vec<(EventType, &str, &str, Vec<String>)> = Vec::new();
        for result in &area.results {
            let (reason, action) = match &result.change {
                GatewayEndpointsChange::CreateEndpoint { .. } => ("EndpointCreated", "CreateVpcEndpoint"),
                GatewayEndpointsChange::AddRouteTables { .. } => ("RouteTablesAssociated", "ModifyVpcEndpoint"),
            };
            let (type_, reason, line) = match &result.outcome {
                Ok(Some(id)) => (EventType::Normal, reason, format!("{}: {id}", result.change.describe())),
                Ok(None) => (EventType::Normal, reason, result.change.describe()),
                Err(error) => (EventType::Warning, "ActionFailed", format!("{}: {error}", result.change.describe())),
            };
            match kinds.iter_mut().find(|(t, r, a, _)| *t == type_ && *r == reason && *a == action) {
                Some((_, _, _, lines)) => lines.push(line),
                None => kinds.push((type_, reason, action, vec![line])),
            }
        }
        events.extend(kinds.into_iter().map(|(type_, reason, action, lines)| Event {
            type_,
            reason: reason.to_string(),
            note: Some(truncate(lines.join("; "))),
            action: action.to_string(),
            secondary: None,
        }));
    }
    if let Some(area) = &applied.snapshots {
        snapshot_events(area, &mut events);
    }
    if let Some(area) = &applied.ssm_access {
        ssm_access::ssm_events(area, &mut events);
    }
    if let Some(area) = &applied.backup {
        backup::backup_events(area, &mut events);
    }
    events
}

/// One Event per kind of snapshot change in a run, not one per snapshot.
fn snapshot_events(area: &AreaOutcome<SnapshotRetentionPlan, SnapshotRetentionChange>, events: &mut Vec<Event>) {
    if let AreaPlan::ObservationFailed(error) = &area.plan {
        events.push(warning("ObservationFailed", "Observe", format!("snapshotRetention: {error}; no snapshot was deleted")));
        return;
    }
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
                "deleted {} expired snapshots ({deleted_gib} GiB, up to ${:.2}/month): {}{more}",
                deleted.len(),
                deleted_gib as f64 * SNAPSHOT_USD_PER_GB_MONTH,
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

/// Publishes events; a failure to publish is logged, never fails the reconcile.
/// A fresh Recorder each time: a shared one would, for 6 minutes, turn a new Event of the same
/// type, reason and action (a new invalid field, another failed change) into a repeat of the
/// first one, note included.
pub async fn publish(ctx: &Context, policy: &CostPolicy, events: Vec<Event>) {
    let recorder = Recorder::new(ctx.client.clone(), ctx.reporter.clone());
    let reference = policy.object_ref(&());
    for event in events {
        if let Err(error) = recorder.publish(&event, &reference).await {
            tracing::warn!(%error, reason = %event.reason, "cannot publish event");
        }
    }
}
