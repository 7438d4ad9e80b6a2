//! Observe, plan and act for one policy: the steps every area goes through, generic over
//! the area; `run/<area>.rs` holds each area's own part ([`Run`]).

use crate::api::validate::ValidatedPolicy;
use crate::plan::conflicts::{Conflict, Peers};
use crate::pricing::Prices;
use crate::pricing::spend::Spend;

use super::area::{Area, AreaOutcome, AreaPlan};
use super::areas::{Applied, Areas, Deleted, Planned, Visit};
use super::cloud::{Cloud, CloudConnector, CloudError};
use crate::plan::conflicts;

mod access_keys;
mod backup;
mod cloud_watch;
mod gateway_endpoints;
mod right_sizing;
mod snapshot_retention;
mod ssm_access;

/// Plans of every enabled area, not yet executed.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedRun {
    pub policy: ValidatedPolicy,
    /// When the run observed the account, Unix seconds.
    pub now: i64,
    /// The prices the run's estimates use, less the policy's discount.
    pub prices: Prices,
    /// What the account paid, when the policy asks Cost Explorer (spec.pricing.costExplorer).
    pub spend: Option<Result<Spend, CloudError>>,
    pub areas: Areas<Planned>,
    /// Policies governing the same snapshots or VPCs as this one.
    pub conflicts: Vec<Conflict>,
}

/// What a run observed, planned and did; the only input of `report`.
#[derive(Clone, Debug, PartialEq)]
pub struct AppliedRun {
    pub policy: ValidatedPolicy,
    pub now: i64,
    pub prices: Prices,
    pub spend: Option<Result<Spend, CloudError>>,
    pub areas: Areas<Applied>,
    /// Policies governing the same snapshots or VPCs as this one.
    pub conflicts: Vec<Conflict>,
}

impl AppliedRun {
    /// True when every enabled area was observed and all its changes succeeded.
    pub fn succeeded(&self) -> bool {
        self.first_error().is_none()
    }

    /// The first failure, in the order of the areas, for error propagation and backoff.
    pub fn first_error(&self) -> Option<&CloudError> {
        struct First<'r>(Option<&'r CloudError>);
        impl<'r> Visit<'r, Applied> for First<'r> {
            fn visit<A: Area>(&mut self, outcome: &'r AreaOutcome<A>) {
                self.0 = self.0.or_else(|| outcome.first_error());
            }
        }
        let mut first = First(None);
        self.areas.each(&mut first);
        first.0
    }
}

/// Reads the account and plans every enabled area. `now` is Unix seconds.
pub async fn observe_and_plan(cloud: &dyn Cloud, policy: ValidatedPolicy, now: i64) -> PlannedRun {
    observe_and_plan_with_peers(cloud, policy, Peers::default(), now).await
}

/// The same, next to the policies this one conflicts with: the stricter safety wins.
pub async fn observe_and_plan_with_peers(cloud: &dyn Cloud, policy: ValidatedPolicy, peers: Peers, now: i64) -> PlannedRun {
    let items = super::areas::price_items(&policy);
    // A policy whose areas price nothing reads no price list.
    let prices = if items.is_empty() { Prices::built_in(&policy.aws.region, None) } else { cloud.prices(&items).await };
    let prices = prices.with_discount(policy.discount_percent);
    // A failed read is reported, never a reason not to plan.
    let spend = if policy.cost_explorer && !items.is_empty() { Some(cloud.spend(&items).await) } else { None };
    let areas = Areas::observe_and_plan(cloud, &policy, &peers, &prices, now).await;
    PlannedRun { policy, now, prices, spend, areas, conflicts: peers.conflicts }
}

/// The policies `policy` conflicts with among `others`. When some reach AWS through a role
/// and some with the operator's own credentials, the connector says whose account those
/// are, so that a role into that same account is the same account (IAM's keys, one account's
/// snapshots). If it cannot say, the policies are compared by how they reach AWS, and why is
/// logged.
pub async fn peers(connector: &dyn CloudConnector, policy: &ValidatedPolicy, others: &[&ValidatedPolicy]) -> Peers {
    let mut own_account = None;
    if conflicts::needs_own_account(std::iter::once(policy).chain(others.iter().copied())) {
        match connector.own_account(&policy.aws.region).await {
            Ok(account) => own_account = Some(account),
            Err(error) => tracing::warn!(policy = %policy.name, %error, "the account of the operator's own credentials is unknown"),
        }
    }
    conflicts::peers(policy, others.iter().copied(), own_account.as_deref())
}

/// One area's plan, or None when the policy does not enable it.
pub(super) async fn observe_and_plan_area<A: Area>(
    cloud: &dyn Cloud,
    policy: &ValidatedPolicy,
    peers: &Peers,
    prices: &Prices,
    now: i64,
) -> Option<AreaPlan<A>> {
    let desired = A::desired(policy)?;
    Some(match A::observe(cloud, policy, desired).await {
        Ok(inventory) => AreaPlan::Planned(A::plan(policy, desired, peers, &inventory, prices, now)),
        Err(error) => AreaPlan::ObservationFailed(error),
    })
}

impl PlannedRun {
    /// Drift over all areas: the changes, snapshots waiting for their grace period, and a
    /// backup blocker only a person can remove.
    pub fn drift_count(&self) -> usize {
        self.count(|plan_drift, _| plan_drift)
    }

    /// The changes the plan holds (what Enforce mode would make this run).
    pub fn change_count(&self) -> usize {
        self.count(|_, changes| changes)
    }

    fn count(&self, pick: fn(usize, usize) -> usize) -> usize {
        struct Count(fn(usize, usize) -> usize, usize);
        impl Visit<'_, Planned> for Count {
            fn visit<A: Area>(&mut self, plan: &AreaPlan<A>) {
                if let AreaPlan::Planned(plan) = plan {
                    self.1 += (self.0)(A::drift_count(plan), A::change_count(plan));
                }
            }
        }
        let mut count = Count(pick, 0);
        self.areas.each(&mut count);
        count.1
    }

    /// Turns the plan into a run that made no change (for `frugal plan`).
    pub fn without_acting(self) -> AppliedRun {
        AppliedRun {
            policy: self.policy,
            now: self.now,
            prices: self.prices,
            spend: self.spend,
            areas: self.areas.without_acting(),
            conflicts: self.conflicts,
        }
    }
}

/// An area that made no change.
pub(super) fn unchanged<A: Area>(plan: AreaPlan<A>) -> AreaOutcome<A> {
    AreaOutcome { plan, results: Vec::new() }
}

/// Executes the planned actions. In Audit mode the plans hold no actions, so nothing runs.
pub async fn act(cloud: &dyn Cloud, planned: PlannedRun) -> AppliedRun {
    let areas = planned.areas.act(cloud, &planned.policy.name).await;
    AppliedRun {
        policy: planned.policy,
        now: planned.now,
        prices: planned.prices,
        spend: planned.spend,
        areas,
        conflicts: planned.conflicts,
    }
}

/// One area's act step; an area that was not observed does nothing.
pub(super) async fn act_area<A: Area>(cloud: &dyn Cloud, policy: &str, plan: Option<AreaPlan<A>>) -> Option<AreaOutcome<A>> {
    let plan = plan?;
    let results = match &plan {
        AreaPlan::Planned(planned) => A::act(cloud, policy, planned).await,
        AreaPlan::ObservationFailed(_) => Vec::new(),
    };
    Some(AreaOutcome { plan, results })
}

/// Removes what the policy created (deletionPolicy Delete). Returns what was deleted, each
/// named with its kind (`gateway endpoint vpce-…`, `backup plan …`).
/// Audit mode deletes nothing (safety rule 1).
pub async fn cleanup(cloud: &dyn Cloud, policy: &ValidatedPolicy) -> Result<Vec<String>, CloudError> {
    if policy.is_audit() {
        return Ok(Vec::new());
    }
    struct All(Vec<String>);
    impl Visit<'_, Deleted> for All {
        fn visit<A: Area>(&mut self, deleted: &Vec<String>) {
            self.0.extend(deleted.iter().cloned());
        }
    }
    let mut all = All(Vec::new());
    Areas::<Deleted>::cleanup(cloud, policy).await?.each(&mut all);
    Ok(all.0)
}
