//! The shape every area has. An area is a marker type (`engine::areas::Backup`, …) that
//! implements one trait per layer, each in that layer's module for the area:
//!
//! | trait | implemented in | what it answers |
//! |---|---|---|
//! | [`AreaKind`] | `engine/areas.rs` | the area's name and its types, from spec to status |
//! | [`Run`] | `engine/run/<area>.rs` | observe, plan, act, clean up; which errors are failures |
//! | [`Report`] | `engine/report/<area>.rs` | status block, condition, cost, conflict message |
//! | [`Publish`] | `controller/events/<area>.rs` | Events and the area's own metrics |
//! | [`Output`] | `cli/output/<area>.rs` | `frugal plan` section, apply line weights, `-o json` |
//!
//! [`Area`] is all of them; the coordinating code (observe, act, first error, counts,
//! report, Events, metrics, CLI output) is generic over `A: Area` and loops over
//! [`super::areas::Areas`], so a new area that lacks a piece does not compile.

use std::fmt::Debug;

use async_trait::async_trait;
use futures::future::BoxFuture;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::events::Event;

use crate::api::conditions::ConditionUpdate;
use crate::api::validate::ValidatedPolicy;
use crate::api::{AreaCost, AreaName, CostPolicyStatus};
use crate::metrics::Metrics;
use crate::plan::conflicts::Peers;
use crate::pricing::{PriceItem, Prices};

use super::cloud::{Cloud, CloudError};

/// An area's name and the types it passes from layer to layer.
pub trait AreaKind: Clone + Copy + Debug + PartialEq + Send + Sync + 'static {
    const NAME: AreaName;
    /// The validated spec section.
    type Desired: Debug + Send + Sync;
    /// What observe reads from AWS: the plan's only view of the account.
    type Inventory: Send + Sync;
    /// The pure planner's answer: drift, actions (empty in Audit mode) and what it counted.
    type Plan: Clone + Debug + PartialEq + Send + Sync;
    /// One change to AWS.
    type Change: Clone + Debug + PartialEq + Send + Sync + serde::Serialize;
    /// The area's block in `status`.
    type Status: Clone + Send + Sync;
}

/// Observe, plan and act: the engine's part of an area.
#[async_trait]
pub trait Run: AreaKind {
    /// The policy's section for this area; None when the area is not enabled.
    fn desired(policy: &ValidatedPolicy) -> Option<&Self::Desired>;
    /// Reads what the plan needs. Any failed or partial read is an error: the area is
    /// abandoned for the run, never planned on partial data (safety rule 7).
    async fn observe(cloud: &dyn Cloud, policy: &ValidatedPolicy, desired: &Self::Desired) -> Result<Self::Inventory, CloudError>;
    /// The prices the area's estimates use: the run looks them up for the policy's region.
    const PRICES: &'static [PriceItem];
    /// The pure plan; actions only when the policy enforces. `prices` are the run's, for the
    /// policy's region, less its discount.
    fn plan(
        policy: &ValidatedPolicy,
        desired: &Self::Desired,
        peers: &Peers,
        inventory: &Self::Inventory,
        prices: &Prices,
        now: i64,
    ) -> Self::Plan;
    /// Executes the plan's actions in the order and with the stops the area's safety needs.
    async fn act(cloud: &dyn Cloud, policy: &str, plan: &Self::Plan) -> Vec<ChangeResult<Self::Change>>;
    /// True when `error` means the change failed (rather than, say, AWS protecting the
    /// resource, or the resource already being gone).
    fn is_failure(change: &Self::Change, error: &CloudError) -> bool;
    /// Drift in the plan's units: changes, and what waits for a grace period or a person.
    fn drift_count(plan: &Self::Plan) -> usize;
    /// The changes the plan holds (what Enforce mode makes this run).
    fn change_count(plan: &Self::Plan) -> usize;
    /// Removes what the policy created (deletionPolicy Delete), whether or not the spec still
    /// enables the area; returns what was deleted, each named with its kind. Called only in
    /// Enforce mode.
    async fn cleanup(cloud: &dyn Cloud, policy: &ValidatedPolicy) -> Result<Vec<String>, CloudError>;
    /// The `action` label of `frugal_actions_total` for a change.
    fn action(change: &Self::Change) -> &'static str;
}

/// Status, condition and cost: the report step's part of an area. Pure.
pub trait Report: Run {
    fn status_of(status: &CostPolicyStatus) -> Option<&Self::Status>;
    fn status_slot(status: &mut CostPolicyStatus) -> &mut Option<Self::Status>;
    /// Open findings in a status block.
    fn findings(status: &Self::Status) -> u32;
    /// The status block and cost of a planned area after the act step; `previous` carries
    /// running totals.
    fn details(plan: &Self::Plan, outcome: &AreaOutcome<Self>, previous: Option<&Self::Status>, now: &Time) -> (Self::Status, AreaCost);
    /// The area's condition; `status` is what `details` computed, None when not observed.
    fn condition(outcome: &AreaOutcome<Self>, status: Option<&Self::Status>, audit: bool) -> ConditionUpdate;
    /// What to tell a person when other policies govern what this one does.
    fn conflict_message(others: &[&str], outcome: &AreaOutcome<Self>) -> String;
}

/// Events and the area's own metrics: the controller's part of an area.
pub trait Publish: Run {
    /// One Event per kind of change per run (the Recorder would fold a second Event of a
    /// kind into the first), Warnings for failures and for a failed observation.
    fn events(outcome: &AreaOutcome<Self>) -> Vec<Event>;
    /// Gauges beyond the findings, cost and action counters every area has.
    fn record(metrics: &Metrics, policy: &str, status: &Self::Status);
}

/// How `frugal plan|apply` show the area.
pub trait Output: Run {
    /// The area's section of `frugal plan`, and what it counts in the summary line.
    fn plan_section(out: &mut String, plan: &Self::Plan) -> PlanCounts;
    /// One line naming a change and what it changes.
    fn describe(change: &Self::Change) -> String;
    /// How many objects a change touches: the unit of the apply summary (one CreateTags call
    /// tags many snapshots).
    fn objects(change: &Self::Change) -> usize;
    /// The area's `-o json` value.
    type Json<'a>: serde::Serialize
    where
        Self: 'a;
    fn json(outcome: &AreaOutcome<Self>) -> Self::Json<'_>;
}

/// Every layer's part: what the coordinating code asks of an area.
pub trait Area: Run + Report + Publish + Output {}

impl<A: Run + Report + Publish + Output> Area for A {}

/// An area's line in the `frugal plan` summary.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanCounts {
    pub create: usize,
    pub change: usize,
    pub destroy: usize,
    /// The money the drift costs, with its basis, for the lines under the plan.
    pub waste: Option<String>,
}

/// An area's plan, or why there is none: a failed read abandons the area for this run
/// (safety rule 7) instead of planning on partial data.
#[derive(Clone, Debug, PartialEq)]
pub enum AreaPlan<A: AreaKind> {
    Planned(A::Plan),
    ObservationFailed(CloudError),
}

/// The result of one executed change.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeResult<C> {
    pub change: C,
    /// The id of what was created, if anything.
    pub outcome: Result<Option<String>, CloudError>,
}

/// An area after the act step.
#[derive(Clone, Debug, PartialEq)]
pub struct AreaOutcome<A: AreaKind> {
    pub plan: AreaPlan<A>,
    pub results: Vec<ChangeResult<A::Change>>,
}

impl<A: Run> AreaOutcome<A> {
    /// Changes that failed.
    pub fn failed_changes(&self) -> impl Iterator<Item = (&A::Change, &CloudError)> {
        self.results.iter().filter_map(|r| r.outcome.as_ref().err().map(|e| (&r.change, e))).filter(|(change, e)| A::is_failure(change, e))
    }

    /// True when the area was observed and no planned change failed.
    pub fn succeeded(&self) -> bool {
        matches!(self.plan, AreaPlan::Planned(_)) && self.failed_changes().next().is_none()
    }

    /// Why the area did not succeed, if it did not.
    pub fn first_error(&self) -> Option<&CloudError> {
        match &self.plan {
            AreaPlan::ObservationFailed(e) => Some(e),
            AreaPlan::Planned(_) => self.failed_changes().next().map(|(_, e)| e),
        }
    }
}

/// Executes changes one at a time in plan order, each whatever the outcome of the one
/// before: the act step of areas whose changes do not depend on each other.
pub async fn each_in_order<'a, A: Run>(
    policy: &str,
    actions: &'a [A::Change],
    describe: impl Fn(&A::Change) -> String,
    apply: impl Fn(&'a A::Change) -> BoxFuture<'a, Result<Option<String>, CloudError>>,
) -> Vec<ChangeResult<A::Change>> {
    let mut results = Vec::new();
    for change in actions {
        let outcome = apply(change).await;
        if let Err(error) = &outcome {
            tracing::warn!(%policy, area = %A::NAME, change = %describe(change), %error, "change failed");
        }
        results.push(ChangeResult { change: change.clone(), outcome });
    }
    results
}
