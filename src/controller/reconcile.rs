//! Reconcile of one CostPolicy.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Api, ResourceExt};

use crate::api::conditions::{self, reason};
use crate::api::names::FINALIZER;
use crate::api::validate::{ValidatedPolicy, validate};
use crate::api::{CostPolicy, DeletionPolicy};
use crate::engine::areas::{Applied, Visit, price_items};
use crate::engine::{self, Area, AreaOutcome, CloudError, report};
use crate::metrics::{ActionLabels, AreaLabels, ErrorLabels, MeasuredLabels, PolicyLabels, PricesLabels, ReconcileLabels};

use super::announce::{Account, announce};
use super::backoff::jitter;
use super::context::listed_names;
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
    /// Deleted and created again under the same name while this reconcile ran.
    #[error("{0}")]
    Replaced(String),
}

impl From<status::StatusWriteError> for ReconcileError {
    fn from(error: status::StatusWriteError) -> Self {
        match error {
            status::StatusWriteError::Kube(error) => ReconcileError::Kube(error),
            replaced @ status::StatusWriteError::Replaced { .. } => ReconcileError::Replaced(replaced.to_string()),
        }
    }
}

impl ReconcileError {
    pub fn category(&self) -> &'static str {
        match self {
            ReconcileError::Aws(_) => "aws",
            ReconcileError::Kube(_) => "kubernetes",
            ReconcileError::Finalizer(_) => "finalizer",
            ReconcileError::Replaced(_) => "gone",
        }
    }

    /// The policy this reconcile was for no longer exists: a 404 from its status or finalizer
    /// patch, or a status patch refused because another object now has its name.
    fn policy_is_gone(&self) -> bool {
        match self {
            ReconcileError::Kube(error) => is_not_found(error),
            ReconcileError::Replaced(_) => true,
            ReconcileError::Aws(_) | ReconcileError::Finalizer(_) => false,
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
    let name = policy.name_any();
    let deleting = policy.metadata.deletion_timestamp.is_some();
    let api: Api<CostPolicy> = Api::all(ctx.client.clone());
    // Set by `apply` for an invalid spec, so that each reconcile is counted under one result.
    let invalid_spec = AtomicBool::new(false);
    let result = finalizer(&api, FINALIZER, policy, |event| async {
        match event {
            Finalizer::Apply(policy) => apply(&policy, &api, &ctx, &invalid_spec).await,
            Finalizer::Cleanup(policy) => cleanup(&policy, &ctx).await,
        }
    })
    .await;
    let result = result.map_err(|error| match error {
        kube::runtime::finalizer::Error::ApplyFailed(e) | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
        kube::runtime::finalizer::Error::AddFinalizer(e) | kube::runtime::finalizer::Error::RemoveFinalizer(e) => ReconcileError::Kube(e),
        other => ReconcileError::Finalizer(other.to_string()),
    });
    let (label, result) = match result {
        // The policy was deleted (and its finalizer released), or deleted and created again
        // under the same name, while this reconcile ran: there is nothing left to do for it,
        // retrying would only fail again, and a new object of that name has its own reconcile.
        Err(error) if error.policy_is_gone() => {
            tracing::info!(policy = %name, %error, "the policy is gone; nothing left to do");
            ctx.backoff.reset(&name);
            ("gone", Ok(Action::await_change()))
        }
        Ok(action) if invalid_spec.load(Ordering::Relaxed) => ("invalid_spec", Ok(action)),
        Ok(action) => ("success", Ok(action)),
        Err(error) => ("error", Err(error)),
    };
    ctx.metrics.reconciles.get_or_create(&ReconcileLabels { result: label.to_string() }).inc();
    if label == "gone" || (deleting && result.is_ok()) {
        // Its cleanup is done and its finalizer released: the policy is gone, and so are its series.
        ctx.metrics.forget_policy(&name);
    } else {
        let finished = k8s_openapi::jiff::Timestamp::now().as_second();
        ctx.metrics.last_reconcile.get_or_create(&PolicyLabels { policy: name }).set(finished);
    }
    forget_deleted_policies(&ctx);
    result
}

/// Drops the series of policies deleted without a last reconcile (a finalizer removed by
/// hand, or a policy that left this replica's --policy-selector), once the watch cache holds
/// every policy: before its first list completes, it holds none. Names are compared only
/// when the replica reports on more policies than the cache holds, so that a reconcile
/// among thousands of policies does not walk them all.
fn forget_deleted_policies(ctx: &Context) {
    let Some(store) = &ctx.policies else { return };
    if ctx.metrics.reported_policies() <= store.len() {
        return;
    }
    if let Some(live) = listed_names(store) {
        ctx.metrics.retain_policies(&live);
    }
}

/// True when the API server answered 404: the object (or its kind) no longer exists.
fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.is_not_found())
}

pub fn error_policy(policy: Arc<CostPolicy>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    ctx.metrics.reconcile_errors.get_or_create(&ErrorLabels { category: error.category().to_string() }).inc();
    let delay = ctx.backoff.next_delay(&policy.name_any());
    tracing::warn!(policy = %policy.name_any(), category = error.category(), %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

async fn apply(policy: &CostPolicy, api: &Api<CostPolicy>, ctx: &Context, invalid_spec: &AtomicBool) -> Result<Action, ReconcileError> {
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
            status::write_if_changed(api, policy, previous, &status).await?;
            if !already_reported {
                events::publish(
                    ctx,
                    policy,
                    vec![events::warning(reason::INVALID_SPEC, "Validate", format!("nothing in AWS was touched: {invalid}"))],
                )
                .await;
            }
            announce(ctx, policy, previous, &status, &[], Account::FromSpecOnly).await;
            stalled_until_changed(ctx, &name);
            invalid_spec.store(true, Ordering::Relaxed);
            tracing::info!(policy = %name, error = %invalid, "invalid spec");
            // Invalid objects wait for a change of the spec instead of being retried.
            return Ok(Action::await_change());
        }
    };

    if let Some(role_arn) = validated.aws.role_arn.as_deref().filter(|arn| !ctx.allowed_roles.allows(Some(arn))) {
        let status = report::role_not_allowed_status(role_arn, previous, generation, &now());
        let already_reported = previous
            .and_then(|p| conditions::find(&p.conditions, conditions::STALLED))
            .is_some_and(|c| c.reason == reason::ROLE_NOT_ALLOWED && c.observed_generation == generation);
        status::write_if_changed(api, policy, previous, &status).await?;
        if !already_reported {
            let note = format!("aws.roleArn {role_arn} matches none of {:?}; nothing in AWS was touched", ctx.allowed_roles.patterns());
            events::publish(ctx, policy, vec![events::warning(reason::ROLE_NOT_ALLOWED, "Validate", note)]).await;
        }
        announce(ctx, policy, previous, &status, &[], Account::FromSpecOnly).await;
        stalled_until_changed(ctx, &name);
        return Ok(Action::await_change());
    }

    let cloud = match ctx.connector.connect(&validated.aws).await {
        Ok(cloud) => cloud,
        Err(error) => {
            let status = report::access_failed_status(&validated, &error, previous, generation, &now());
            status::write_if_changed(api, policy, previous, &status).await?;
            events::publish(ctx, policy, vec![events::warning(reason::AWS_ACCESS_FAILED, "Connect", error.to_string())]).await;
            // Credentials just failed: asking AWS for the account would fail again.
            announce(ctx, policy, previous, &status, &[], Account::FromSpecOnly).await;
            return Err(error.into());
        }
    };

    let others = other_policies(ctx, &name);
    let others: Vec<&ValidatedPolicy> = others.iter().map(Arc::as_ref).collect();
    let peers = engine::peers(ctx.connector.as_ref(), &validated, &others).await;
    if !peers.conflicts.is_empty() {
        tracing::warn!(policy = %name, conflicts = ?peers.conflicts, "another policy governs the same snapshots or VPCs");
    }
    let planned =
        engine::observe_and_plan_with_peers(cloud.as_ref(), validated.clone(), peers, k8s_openapi::jiff::Timestamp::now().as_second())
            .await;
    let applied = engine::act(cloud.as_ref(), planned).await;
    let status = report::status(&applied, previous, generation, &now());
    // Every change made reaches its Event, whatever the status write does (but a policy that
    // is gone has no one left to read them).
    let written = status::write_if_changed(api, policy, previous, &status).await;
    if !written.as_ref().is_err_and(status::StatusWriteError::policy_is_gone) {
        events::publish(ctx, policy, events::for_run(&applied)).await;
        // Like the Events, the news goes out whatever the status write did: the changes were made.
        let areas = crate::notify::news::areas_of(&applied, previous, &status);
        announce(ctx, policy, previous, &status, &areas, Account::AskAws).await;
    }
    written?;
    record_metrics(ctx, &validated, &applied, &status);

    if let Some(error) = applied.first_error() {
        return Err(error.clone().into());
    }
    ctx.backoff.reset(&name);
    Ok(Action::requeue(jitter_up(validated.resync_interval)))
}

/// A Stalled policy is not reconciled again until its spec changes: it has no resync
/// interval for the freshness alert to hold it to.
fn stalled_until_changed(ctx: &Context, name: &str) {
    ctx.metrics.resync_interval.remove(&PolicyLabels { policy: name.to_string() });
}

/// The other live, valid policies the controller knows (none without a store: each policy
/// then stands alone). With --policy-selector, only this shard's policies are known.
fn other_policies(ctx: &Context, name: &str) -> Vec<Arc<ValidatedPolicy>> {
    let Some(store) = &ctx.policies else { return Vec::new() };
    let policies = store.state();
    let others: Vec<&CostPolicy> = policies
        .iter()
        .map(Arc::as_ref)
        .filter(|p| p.metadata.deletion_timestamp.is_none() && p.metadata.name.as_deref() != Some(name))
        .collect();
    ctx.validated.valid(&others)
}

/// The resync interval plus up to 10%, so that policies created together spread out.
fn jitter_up(interval: std::time::Duration) -> std::time::Duration {
    let spread = jitter(interval / 20, 1.0);
    interval + spread
}

fn record_metrics(ctx: &Context, policy: &ValidatedPolicy, applied: &engine::AppliedRun, status: &crate::api::CostPolicyStatus) {
    let interval = i64::try_from(policy.resync_interval.as_secs()).unwrap_or(i64::MAX);
    ctx.metrics.resync_interval.get_or_create(&PolicyLabels { policy: policy.name.clone() }).set(interval);
    let labels = |area: &str| AreaLabels { policy: policy.name.clone(), area: area.to_string() };
    for cost in status.cost.iter().flat_map(|c| &c.areas) {
        ctx.metrics.monthly_savings_usd.get_or_create(&labels(&cost.area)).set(cost.monthly_savings_usd.parse().unwrap_or(0.0));
        ctx.metrics.monthly_waste_usd.get_or_create(&labels(&cost.area)).set(cost.monthly_waste_usd.parse().unwrap_or(0.0));
        ctx.metrics.monthly_cost_usd.get_or_create(&labels(&cost.area)).set(cost.monthly_cost_usd.parse().unwrap_or(0.0));
        if let Some(measured) = &cost.measured {
            for (period, amount) in [("last_month", &measured.last_month_usd), ("month_to_date", &measured.month_to_date_usd)] {
                let labels = MeasuredLabels { policy: policy.name.clone(), area: cost.area.clone(), period: period.to_string() };
                ctx.metrics.measured_spend_usd.get_or_create(&labels).set(amount.parse().unwrap_or(0.0));
            }
        }
    }
    if status.cost.as_ref().is_some_and(|c| !c.prices.is_empty()) {
        let current = applied.prices.source_label(&price_items(policy));
        let labels = PricesLabels { policy: policy.name.clone(), region: policy.aws.region.clone(), source: current.to_string() };
        ctx.metrics.prices_info.get_or_create(&labels).set(1);
    }
    applied.areas.each(&mut AreaMetrics { ctx, policy: &policy.name, status });
    ctx.metrics.sweep_policy(&policy.name);
}

/// Each area's findings, its own gauges and its actions by outcome.
struct AreaMetrics<'r> {
    ctx: &'r Context,
    policy: &'r str,
    status: &'r crate::api::CostPolicyStatus,
}

impl Visit<'_, Applied> for AreaMetrics<'_> {
    fn visit<A: Area>(&mut self, outcome: &AreaOutcome<A>) {
        let metrics = &self.ctx.metrics;
        if let Some(block) = A::status_of(self.status) {
            let labels = AreaLabels { policy: self.policy.to_string(), area: A::NAME.key().to_string() };
            metrics.findings.get_or_create(&labels).set(i64::from(A::findings(block)));
            A::record(metrics, self.policy, block);
        }
        for result in &outcome.results {
            let outcome = if result.outcome.is_ok() { "success" } else { "failure" };
            let labels = ActionLabels {
                policy: self.policy.to_string(),
                area: A::NAME.key().to_string(),
                action: A::action(&result.change).to_string(),
                outcome: outcome.to_string(),
            };
            metrics.actions.get_or_create(&labels).inc();
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
        (DeletionPolicy::Delete, false) if !ctx.allowed_roles.allows(validated.aws.role_arn.as_deref()) => {
            let note = "aws.roleArn is not allowed by --allowed-role-arns: AWS objects are retained".to_string();
            events::publish(ctx, policy, vec![events::warning("Retained", "Cleanup", note)]).await;
        }
        (DeletionPolicy::Delete, false) => {
            let cloud = match ctx.connector.connect(&validated.aws).await {
                Ok(cloud) => cloud,
                Err(error) => {
                    events::publish(
                        ctx,
                        policy,
                        vec![events::warning(
                            "CleanupFailed",
                            "Connect",
                            format!("cannot reach AWS to delete what this policy created: {error}"),
                        )],
                    )
                    .await;
                    return Err(error.into());
                }
            };
            match engine::cleanup(cloud.as_ref(), &validated).await {
                Ok(deleted) => {
                    let note =
                        if deleted.is_empty() { "nothing left to delete".to_string() } else { format!("deleted {}", deleted.join(", ")) };
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
