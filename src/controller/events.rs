//! Kubernetes Events: one for every AWS change and every error.

use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource, ResourceExt};

use crate::api::CostPolicy;
use crate::api::conditions::reason;
use crate::engine::areas::{Applied, Visit};
use crate::engine::report;
use crate::engine::{AppliedRun, Area, AreaOutcome, AreaPlan};

use super::Context;
use super::context::UnpublishedEvents;

mod access_keys;
mod backup;
mod cloud_watch;
mod gateway_endpoints;
mod right_sizing;
mod snapshot_retention;
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
    struct Events(Vec<Event>);
    impl Visit<'_, Applied> for Events {
        fn visit<A: Area>(&mut self, outcome: &AreaOutcome<A>) {
            self.0.extend(A::events(outcome));
        }
    }
    let mut events = Events(Vec::new());
    let conflicts = report::conflict_messages(applied);
    if !conflicts.is_empty() {
        events.0.push(warning(reason::CONFLICT, "Plan", conflicts.join("; ")));
    }
    if let Some(Err(error)) = &applied.spend {
        events.0.push(warning(
            "CostExplorerUnavailable",
            "GetCostAndUsage",
            format!("what the account paid could not be read; the estimates stand alone: {error}"),
        ));
    }
    applied.areas.each(&mut events);
    events.0
}

/// The Event of an area that could not be observed, saying nothing was changed.
fn observation_failed<A: Area>(outcome: &AreaOutcome<A>, consequence: &str) -> Option<Event> {
    let AreaPlan::ObservationFailed(error) = &outcome.plan else { return None };
    Some(warning("ObservationFailed", "Observe", format!("{}: {error}; {consequence}", A::NAME)))
}

/// The Events of an area whose changes are independent: one per kind of successful change
/// (`kind` gives its reason and AWS action), a Warning per failed one, or the observation
/// failure.
fn per_change<A: Area>(outcome: &AreaOutcome<A>, kind: impl Fn(&A::Change) -> (&'static str, &'static str)) -> Vec<Event> {
    if let Some(event) = observation_failed(outcome, "nothing was changed") {
        return vec![event];
    }
    by_kind(outcome.results.iter().map(|result| {
        let (reason, action) = kind(&result.change);
        match &result.outcome {
            Err(error) if A::is_failure(&result.change, error) => {
                (EventType::Warning, "ActionFailed", action, format!("{}: {error}", A::describe(&result.change)))
            }
            _ => (EventType::Normal, reason, action, A::describe(&result.change)),
        }
    }))
}

/// One Event per (type, reason, action) of `lines`, its note listing them in order.
fn by_kind(lines: impl IntoIterator<Item = (EventType, &'static str, &'static str, String)>) -> Vec<Event> {
    let mut kinds: Vec<(EventType, &str, &str, Vec<String>)> = Vec::new();
    for (type_, reason, action, line) in lines {
        match kinds.iter_mut().find(|(t, r, a, _)| *t == type_ && *r == reason && *a == action) {
            Some((_, _, _, listed)) => listed.push(line),
            None => kinds.push((type_, reason, action, vec![line])),
        }
    }
    kinds
        .into_iter()
        .map(|(type_, reason, action, lines)| Event {
            type_,
            reason: reason.to_string(),
            note: Some(truncate(lines.join("; "))),
            action: action.to_string(),
            secondary: None,
        })
        .collect()
}

/// Publishes the policy's Events that an earlier publish could not write, then `events`; a
/// failure is logged, never fails the reconcile, and the Event waits for the next publish
/// (bounded; an Event the API server took is never sent again).
/// A fresh Recorder each time: a shared one would, for 6 minutes, turn a new Event of the same
/// type, reason and action (a new invalid field, another failed change) into a repeat of the
/// first one, note included.
pub async fn publish(ctx: &Context, policy: &CostPolicy, events: Vec<Event>) {
    publish_about(&ctx.client, &ctx.reporter, &ctx.unpublished, policy, events).await;
}

/// [`publish`] for any object of the operator (a policy, a set): `unpublished` holds its
/// waiting Events by name.
pub async fn publish_about<K>(client: &Client, reporter: &Reporter, unpublished: &UnpublishedEvents, object: &K, events: Vec<Event>)
where
    K: Resource<DynamicType = ()>,
{
    let name = object.name_any();
    let mut waiting = unpublished.take(&name);
    if waiting.is_empty() && events.is_empty() {
        return;
    }
    waiting.extend(events);
    let recorder = Recorder::new(client.clone(), reporter.clone());
    let reference = object.object_ref(&());
    let mut failed = Vec::new();
    for event in waiting {
        if let Err(error) = recorder.publish(&event, &reference).await {
            tracing::warn!(%error, object = %name, reason = %event.reason, "cannot publish event; it waits for the next publish");
            failed.push(event);
        }
    }
    unpublished.keep(&name, failed);
}
