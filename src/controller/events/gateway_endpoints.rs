//! Events of the gatewayEndpoints area: one per kind of change per run, Warnings for failures.

use kube::runtime::events::{Event, EventType};

use crate::engine::areas::GatewayEndpoints;
use crate::engine::{AreaOutcome, Publish};
use crate::metrics::Metrics;
use crate::plan::gateway_endpoints::GatewayEndpointsChange;

use super::{by_kind, observation_failed};

impl Publish for GatewayEndpoints {
    fn events(outcome: &AreaOutcome<Self>) -> Vec<Event> {
        if let Some(event) = observation_failed(outcome, "nothing was changed") {
            return vec![event];
        }
        by_kind(outcome.results.iter().map(|result| {
            let (reason, action) = match &result.change {
                GatewayEndpointsChange::CreateEndpoint { .. } => ("EndpointCreated", "CreateVpcEndpoint"),
                GatewayEndpointsChange::AddRouteTables { .. } => ("RouteTablesAssociated", "ModifyVpcEndpoint"),
            };
            match &result.outcome {
                Ok(Some(id)) => (EventType::Normal, reason, action, format!("{}: {id}", result.change.describe())),
                Ok(None) => (EventType::Normal, reason, action, result.change.describe()),
                Err(error) => (EventType::Warning, "ActionFailed", action, format!("{}: {error}", result.change.describe())),
            }
        }))
    }

    fn record(_metrics: &Metrics, _policy: &str, _status: &Self::Status) {}
}
