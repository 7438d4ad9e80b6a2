//! Observe, plan and act for one policy.

use crate::api::validate::ValidatedPolicy;
use crate::plan::gateway_endpoints::{self, GatewayChange, GatewayPlan};

use super::cloud::{Cloud, CloudError};

/// An area's plan, or why there is none: a failed read abandons the area for this run
/// (safety rule 7) instead of planning on partial data.
#[derive(Clone, Debug, PartialEq)]
pub enum AreaPlan<P> {
    Planned(P),
    ObservationFailed(CloudError),
}

/// Plans of every enabled area, not yet executed.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedRun {
    pub policy: ValidatedPolicy,
    pub gateway_endpoints: Option<AreaPlan<GatewayPlan>>,
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
pub struct AreaOutcome<P, C> {
    pub plan: AreaPlan<P>,
    pub results: Vec<ChangeResult<C>>,
}

impl<P, C> AreaOutcome<P, C> {
    pub fn failed_changes(&self) -> impl Iterator<Item = (&C, &CloudError)> {
        self.results.iter().filter_map(|r| r.outcome.as_ref().err().map(|e| (&r.change, e)))
    }

    /// True when the area was observed and every planned change succeeded.
    pub fn succeeded(&self) -> bool {
        matches!(self.plan, AreaPlan::Planned(_)) && self.results.iter().all(|r| r.outcome.is_ok())
    }
}

/// What a run observed, planned and did; the only input of `report`.
#[derive(Clone, Debug, PartialEq)]
pub struct AppliedRun {
    pub policy: ValidatedPolicy,
    pub gateway_endpoints: Option<AreaOutcome<GatewayPlan, GatewayChange>>,
}

impl AppliedRun {
    /// True when every enabled area was observed and all its changes succeeded.
    pub fn succeeded(&self) -> bool {
        self.gateway_endpoints.as_ref().is_none_or(AreaOutcome::succeeded)
    }

    /// The first failure, for error propagation and backoff.
    pub fn first_error(&self) -> Option<&CloudError> {
        let ge = self.gateway_endpoints.as_ref()?;
        match &ge.plan {
            AreaPlan::ObservationFailed(e) => Some(e),
            AreaPlan::Planned(_) => ge.failed_changes().next().map(|(_, e)| e),
        }
    }
}

/// Reads the account and plans every enabled area.
pub async fn observe_and_plan(cloud: &dyn Cloud, policy: ValidatedPolicy) -> PlannedRun {
    let gateway_endpoints = match &policy.gateway_endpoints {
        None => None,
        Some(desired) => Some(match cloud.observe_network(desired).await {
            Ok(inventory) => {
                AreaPlan::Planned(gateway_endpoints::plan(&policy.name, &policy.aws.region, desired, &inventory, !policy.is_audit()))
            }
            Err(error) => AreaPlan::ObservationFailed(error),
        }),
    };
    PlannedRun { policy, gateway_endpoints }
}

impl PlannedRun {
    /// Drift over all areas (what Enforce mode would change).
    pub fn drift_count(&self) -> usize {
        match &self.gateway_endpoints {
            Some(AreaPlan::Planned(p)) => p.drift.len(),
            _ => 0,
        }
    }

    /// Turns the plan into a run that made no change (for `frugal plan`).
    pub fn without_acting(self) -> AppliedRun {
        AppliedRun { policy: self.policy, gateway_endpoints: self.gateway_endpoints.map(|plan| AreaOutcome { plan, results: Vec::new() }) }
    }
}

/// Executes the planned actions. In Audit mode the plans hold no actions, so nothing runs.
pub async fn act(cloud: &dyn Cloud, planned: PlannedRun) -> AppliedRun {
    let mut results = Vec::new();
    if let Some(AreaPlan::Planned(plan)) = &planned.gateway_endpoints {
        for change in &plan.actions {
            let outcome = cloud.apply_gateway_change(change).await;
            if let Err(error) = &outcome {
                tracing::warn!(policy = %planned.policy.name, change = %change.describe(), %error, "change failed");
            }
            results.push(ChangeResult { change: change.clone(), outcome });
        }
    }
    AppliedRun { policy: planned.policy, gateway_endpoints: planned.gateway_endpoints.map(|plan| AreaOutcome { plan, results }) }
}

/// Removes what the policy created (deletionPolicy Delete). Returns the deleted ids.
/// Audit mode deletes nothing (safety rule 1).
pub async fn cleanup(cloud: &dyn Cloud, policy: &ValidatedPolicy) -> Result<Vec<String>, CloudError> {
    if policy.is_audit() {
        return Ok(Vec::new());
    }
    let owned = cloud.owned_gateway_endpoints(&policy.name).await?;
    let ids = gateway_endpoints::plan_cleanup(&policy.name, &owned);
    if !ids.is_empty() {
        cloud.delete_gateway_endpoints(&ids).await?;
    }
    Ok(ids)
}
