//! Reconcile of one CostPolicy.

use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Api, ResourceExt};

use crate::api::conditions::{self, reason};
use crate::api::names::FINALIZER;
use crate::api::validate::{ValidatedPolicy, validate};
use crate::api::{CostPolicy, DeletionPolicy};
use crate::engine::{self, CloudError, report};
use crate::metrics::{ActionLabels, AreaLabels, ReconcileLabels};

use super::backoff::jitter;
use super::{Context, events, status};

/// Why a reconcile did not complete; the category is the metric label.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("AWS: {0}")]
    Aws(#[from] CloudError),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(String),
}

impl ReconcileError {
    pub fn category(&self) -> &'static str {
        match self {
            ReconcileError::Aws(_) => "aws",
            ReconcileError::Kube(_) => "kubernetes",
            ReconcileError::Finalizer(_) => "finalizer",
        }
    }
}

/// Records the reconcile duration when dropped, whatever path the reconcile takes.
struct DurationTimer<'a> {
    ctx: &'a Context,
    start: Instant,
}

impl Drop for DurationTimer<'_> {
    fn drop(&mut self) {
        self.ctx.metrics.reconcile_duration.observe(self.start.elapsed().as_secs_f64());
    }
}

pub async fn reconcile(policy: Arc<CostPolicy>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let _timer = DurationTimer { ctx: &ctx, start: Instant::now() };
    let api: Api<CostPolicy> = Api::all(ctx.client.clone());
    let result = finalizer(&api, FINALIZER, policy, |event| async {
        match event {
            Finalizer::Apply(policy) => apply(&policy, &api, &ctx).await,
            Finalizer::Cleanup(policy) => cleanup(&policy, &ctx).await,
        }
    })
    .await;
    let label = match &result {
        Ok(_) => "success",
        Err(_) => "error",
    };
    ctx.metrics.reconciles.get_or_create(&ReconcileLabels { result: label.to_string() }).inc();
    result.map_err(|error| match error {
        kube::runtime::finalizer::Error::ApplyFailed(e) | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
        kube::runtime::finalizer::Error::AddFinalizer(e) | kube::runtime::finalizer::Error::RemoveFinalizer(e) => ReconcileError::Kube(e),
        other => ReconcileError::Finalizer(other.to_string()),
    })
}

pub fn error_policy(policy: Arc<CostPolicy>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    let delay = ctx.backoff.next_delay(&policy.name_any());
    tracing::warn!(policy = %policy.name_any(), category = error.category(), %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

async fn apply(policy: &CostPolicy, api: &Api<CostPolicy>, ctx: &Context) -> Result<Action, ReconcileError> {
    let name = policy.name_any();
    let generation = policy.metadata.generation;
    let previous = policy.status.as_ref();

    let validated = match validate(&name, &policy.spec) {
        Ok(v) => v,
        Err(invalid) => {
            let status = report::invalid_spec_status(&invalid, previous, generation, &now());
            let already_reported = previous
                .and_then(|p| conditions::find(&p.conditions, conditions::STALLED))
                .is_some_and(|c| c.reason == reason::INVALID_SPEC && c.observed_generation == generation);
            status::write(api, &name, &status).await?;
            if !already_reported {
                events::publish(
                    ctx,
                    policy,
                    vec![events::warning(reason::INVALID_SPEC, "Validate", format!("nothing in AWS was touched: {invalid}"))],
                )
                .await;
            }
            ctx.metrics.reconciles.get_or_create(&ReconcileLabels { result: "invalid_spec".to_string() }).inc();
            tracing::info!(policy = %name, error = %invalid, "invalid spec");
            // Invalid objects wait for a change of the spec instead of being retried.
            return Ok(Action::await_change());
        }
    };

    let cloud = match ctx.connector.connect(&validated.aws).await {
        Ok(cloud) => cloud,
        Err(error) => {
            let status = report::access_failed_status(&validated, &error, previous, generation, &now());
            status::write(api, &name, &status).await?;
            events::publish(ctx, policy, vec![events::warning(reason::AWS_ACCESS_FAILED, "Connect", error.to_string())]).await;
            return Err(error.into());
        }
    };

    let planned = engine::observe_and_plan(cloud.as_ref(), validated.clone()).await;
    let applied = engine::act(cloud.as_ref(), planned).await;
    let status = report::status(&applied, previous, generation, &now());
    status::write(api, &name, &status).await?;
    events::publish(ctx, policy, events::for_run(&applied)).await;
    record_metrics(ctx, &validated, &applied, &status);

    if let Some(error) = applied.first_error() {
        return Err(error.clone().into());
    }
    ctx.backoff.reset(&name);
    Ok(Action::requeue(jitter_up(validated.resync_interval)))
}

/// The resync interval plus up to 10%, so that policies created together spread out.
fn jitter_up(interval: std::time::Duration) -> std::time::Duration {
    let spread = jitter(interval / 20, 1.0);
    interval + spread
}

fn record_metrics(ctx: &Context, policy: &ValidatedPolicy, applied: &engine::AppliedRun, status: &crate::api::CostPolicyStatus) {
    let area = "gatewayEndpoints".to_string();
    let labels = AreaLabels { policy: policy.name.clone(), area: area.clone() };
    if let Some(ge) = &status.gateway_endpoints {
        ctx.metrics.findings.get_or_create(&labels).set(i64::from(ge.findings));
    }
    if let Some(cost) = status.cost.as_ref().and_then(|c| c.areas.iter().find(|a| a.area == area)) {
        ctx.metrics.monthly_savings_usd.get_or_create(&labels).set(cost.monthly_savings_usd.parse().unwrap_or(0.0));
        ctx.metrics.monthly_waste_usd.get_or_create(&labels).set(cost.monthly_waste_usd.parse().unwrap_or(0.0));
    }
    if let Some(outcome) = &applied.gateway_endpoints {
        for result in &outcome.results {
            let action = match &result.change {
                crate::plan::gateway_endpoints::GatewayChange::CreateEndpoint { .. } => "create_endpoint",
                crate::plan::gateway_endpoints::GatewayChange::AddRouteTables { .. } => "add_route_tables",
            };
            let outcome = if result.outcome.is_ok() { "success" } else { "failure" };
            ctx.metrics
                .actions
                .get_or_create(&ActionLabels {
                    policy: policy.name.clone(),
                    area: area.clone(),
                    action: action.to_string(),
                    outcome: outcome.to_string(),
                })
                .inc();
        }
    }
}

async fn cleanup(policy: &CostPolicy, ctx: &Context) -> Result<Action, ReconcileError> {
    let name = policy.name_any();
    let validated = match validate(&name, &policy.spec) {
        Ok(v) => v,
        Err(invalid) => {
            events::publish(
                ctx,
                policy,
                vec![events::warning("Retained", "Cleanup", format!("the spec is invalid, so AWS objects are retained: {invalid}"))],
            )
            .await;
            return Ok(Action::await_change());
        }
    };
    match (validated.deletion_policy, validated.is_audit()) {
        (DeletionPolicy::Retain, _) => {
            events::publish(
                ctx,
                policy,
                vec![events::normal("Retained", "Cleanup", "deletionPolicy is Retain: AWS objects stay in place".to_string())],
            )
            .await;
        }
        (DeletionPolicy::Delete, true) => {
            events::publish(
                ctx,
                policy,
                vec![events::normal("Retained", "Cleanup", "Audit mode never deletes: AWS objects stay in place".to_string())],
            )
            .await;
        }
        (DeletionPolicy::Delete, false) => {
            let cloud = ctx.connector.connect(&validated.aws).await.map_err(|error| {
                tracing::warn!(policy = %name, %error, "cannot reach AWS for cleanup");
                error
            })?;
            match engine::cleanup(cloud.as_ref(), &validated).await {
                Ok(deleted) => {
                    let note = if deleted.is_empty() {
                        "nothing left to delete".to_string()
                    } else {
                        format!("deleted gateway endpoints {}", deleted.join(", "))
                    };
                    events::publish(ctx, policy, vec![events::normal("Deleted", "Cleanup", note)]).await;
                }
                Err(error) => {
                    events::publish(ctx, policy, vec![events::warning("CleanupFailed", "Cleanup", error.to_string())]).await;
                    return Err(error.into());
                }
            }
        }
    }
    ctx.backoff.reset(&name);
    Ok(Action::await_change())
}
