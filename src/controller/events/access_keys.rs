//! Events of the accessKeys area: one per kind of change per run, Warnings for failures.

use kube::runtime::events::Event;

use crate::engine::areas::AccessKeys;
use crate::engine::{AreaOutcome, Publish};
use crate::metrics::Metrics;
use crate::plan::access_keys::AccessKeysChange;

use super::per_change;

/// (reason, action) of a successful change.
fn kind(change: &AccessKeysChange) -> (&'static str, &'static str) {
    match change {
        AccessKeysChange::MarkUser { .. } => ("AccessKeysMarked", "TagUser"),
        AccessKeysChange::DeactivateKey { .. } => ("AccessKeysDeactivated", "UpdateAccessKey"),
        AccessKeysChange::UnmarkUser { .. } => ("AccessKeysSpared", "UntagUser"),
    }
}

impl Publish for AccessKeys {
    fn events(outcome: &AreaOutcome<Self>) -> Vec<Event> {
        per_change(outcome, kind)
    }

    fn record(_metrics: &Metrics, _policy: &str, _status: &Self::Status) {}
}
