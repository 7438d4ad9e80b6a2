//! Kubernetes Events: one for every AWS change and every error.

use kube::Resource;
use kube::runtime::events::{Event, EventType};

use crate::api::CostPolicy;
use crate::engine::{AppliedRun, AreaPlan};
use crate::plan::gateway_endpoints::GatewayChange;

use super::Context;

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

/// The Events that describe a run: each change made or failed, and observation failures.
pub fn for_run(applied: &AppliedRun) -> Vec<Event> {
    let mut events = Vec::new();
    if let Some(area) = &applied.gateway_endpoints {
        if let AreaPlan::ObservationFailed(error) = &area.plan {
            events.push(warning("ObservationFailed", "Observe", format!("gatewayEndpoints: {error}; nothing was changed")));
        }
        for result in &area.results {
            let (reason, action) = match &result.change {
                GatewayChange::CreateEndpoint { .. } => ("EndpointCreated", "CreateVpcEndpoint"),
                GatewayChange::AddRouteTables { .. } => ("RouteTablesAssociated", "ModifyVpcEndpoint"),
            };
            events.push(match &result.outcome {
                Ok(Some(id)) => normal(reason, action, format!("{}: {id}", result.change.describe())),
                Ok(None) => normal(reason, action, result.change.describe()),
                Err(error) => warning("ActionFailed", action, format!("{}: {error}", result.change.describe())),
            });
        }
    }
    events
}

/// Publishes events; a failure to publish is logged, never fails the reconcile.
pub async fn publish(ctx: &Context, policy: &CostPolicy, events: Vec<Event>) {
    let reference = policy.object_ref(&());
    for event in events {
        if let Err(error) = ctx.recorder.publish(&event, &reference).await {
            tracing::warn!(%error, reason = %event.reason, "cannot publish event");
        }
    }
}
