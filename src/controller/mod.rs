//! The Kubernetes wiring: a kube-runtime Controller over CostPolicy.
//!
//! Per object: `finalizer` → `validate` → `connect` → engine (`observe_and_plan` → `act`)
//! → `report` (status by a uid-guarded JSON patch, Events, metrics). Invalid specs stop before
//! `connect`, so nothing in AWS is touched; failures reach status and metrics and are
//! retried with per-object exponential backoff.
//!
//! A second Controller (`set`) keeps the CostPolicies each CostPolicySet generates.
//!
//! With several replicas, `leader` elects the one that runs the Controllers.
//!
//! Beside them, `notifier` runs a Controller over Notifiers (their Secrets, their status), and
//! `announce` hands each run's news to them (`crate::notify` delivers it).

mod announce;
mod backoff;
mod context;
mod events;
pub mod leader;
pub mod notifier;
mod reconcile;
mod set;
pub mod status;
#[cfg(test)]
mod tests;
mod validated;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::{FutureExt, StreamExt};
use kube::api::ListParams;
use kube::runtime::{Controller, Predicate, WatchStreamExt, controller, predicates, reflector, watcher};
use kube::{Api, Client};

use crate::api::allowlist::RoleAllowlist;
use crate::api::{CostPolicy, CostPolicySet, Notifier};
use crate::aws::{AwsConnector, PacingConfig};
use crate::metrics::Metrics;
use crate::notify::{Notify, RetryPolicy};

pub use context::Context;
pub use leader::LeaderElector;
pub use reconcile::{ReconcileError, error_policy, reconcile};

/// What `frugal run` is told: the controller's own settings, whatever sets them (flags,
/// environment, a test).
#[derive(Clone, Debug)]
pub struct Config {
    /// Address of the HTTP server for /metrics, /healthz and /readyz.
    pub metrics_addr: std::net::SocketAddr,
    /// Only policies whose labels match this selector are reconciled.
    pub policy_selector: Option<String>,
    /// Role ARN patterns policies may assume; empty: any.
    pub allowed_role_arns: Vec<String>,
    /// The Lease to elect a leader through; None: this process leads alone.
    pub leader_election: Option<LeaseConfig>,
    /// How long one account's reads are shared between policies.
    pub observation_ttl: std::time::Duration,
    /// Reconciles in flight at once (0: no limit).
    pub max_concurrent_reconciles: u16,
    pub pacing: PacingConfig,
    /// The namespace whose Secrets Notifiers may name; default: the client's namespace.
    pub secret_namespace: Option<String>,
}

/// Where the leader Lease lives.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// Default: the client's namespace.
    pub namespace: Option<String>,
    pub name: String,
}

/// Runs the controller until SIGTERM or Ctrl-C; with leader election, only while this
/// replica holds the lease.
///
/// A replica that loses the lease stops its controller at once (in-flight reconciles are
/// dropped; each reconcile is idempotent, the new leader redoes it) and returns an error,
/// so the process exits non-zero and Kubernetes restarts it as a clean standby.
pub async fn run(args: Config) -> anyhow::Result<()> {
    let client = Client::try_default()
        .await
        .map_err(|e| anyhow::anyhow!("cannot build a Kubernetes client from the kubeconfig or the in-cluster config: {e}"))?;
    let metrics = Metrics::new();
    let connector = Arc::new(AwsConnector::new(metrics.clone(), args.pacing.clone()).with_observation_ttl(args.observation_ttl));
    let allowed_roles = RoleAllowlist::new(args.allowed_role_arns.clone());
    let (reader, writer) = reflector::store();
    let (notifiers, notifier_writer) = reflector::store();
    let notify = Arc::new(Notify::start(
        crate::notify::delivery::http_client().map_err(|e| anyhow::anyhow!("cannot set up HTTPS for notifications: {e}"))?,
        RetryPolicy::default(),
        metrics.clone(),
        notifiers.clone(),
    ));
    let organizations = Arc::new(crate::aws::organizations::AwsOrganizations::new(connector.clone()));
    let ctx = Arc::new(
        Context::new(client.clone(), connector, metrics.clone())
            .with_allowed_roles(allowed_roles)
            .with_policies(reader.clone())
            .with_notify(notify.clone()),
    );
    let secret_namespace = args.secret_namespace.clone().unwrap_or_else(|| client.default_namespace().to_string());
    let health = crate::http::Health::default();
    let server = tokio::spawn(crate::http::serve(args.metrics_addr, metrics.clone(), health.clone()));

    let api: Api<CostPolicy> = Api::all(client.clone());
    let mut list = ListParams::default().limit(1);
    if let Some(selector) = &args.policy_selector {
        list = list.labels(selector);
    }
    api.list(&list).await.map_err(|e| anyhow::anyhow!("cannot list CostPolicies (is the CRD installed? kubectl apply -f crds/): {e}"))?;
    Api::<CostPolicySet>::all(client.clone())
        .list(&list)
        .await
        .map_err(|e| anyhow::anyhow!("cannot list CostPolicySets (is the CRD installed? kubectl apply -f crds/): {e}"))?;
    // Until here SIGTERM ends the process; from here on it stops the standby wait or the
    // controller and releases the lease, wherever it arrives.
    let shutdown = shutdown_signal()?.boxed().shared();
    // From here on this replica can do its job, as the leader or as a standby.
    set_leader(&health, &metrics, args.leader_election.is_none());
    health.ready.store(true, Ordering::SeqCst);

    let mut elector = if let Some(lease) = &args.leader_election {
        let namespace = lease.namespace.clone().unwrap_or_else(|| client.default_namespace().to_string());
        let mut elector = LeaderElector::new(client.clone(), &namespace, &lease.name, &leader::identity());
        tracing::info!(lease = %lease.name, %namespace, identity = %elector.identity(), "waiting for the leader lease");
        tokio::select! {
            () = elector.acquire() => {}
            () = shutdown.clone() => {
                health.ready.store(false, Ordering::SeqCst);
                server.abort();
                tracing::info!("stopped while standing by");
                return Ok(());
            }
        }
        Some(elector)
    } else {
        None
    };
    set_leader(&health, &metrics, true);
    tracing::info!(selector = ?args.policy_selector, "controller started");

    let mut watch = watcher::Config::default().any_semantic();
    if let Some(selector) = &args.policy_selector {
        watch = watch.labels(selector);
    }
    let triggers = triggers(api, watch, writer);
    let config = controller::Config::default().concurrency(args.max_concurrent_reconciles);
    let sets = set::run(client.clone(), organizations, metrics.clone(), args.policy_selector.clone(), shutdown.clone());
    let policies = Controller::for_stream(triggers, reader)
        .with_config(config)
        .graceful_shutdown_on(shutdown.clone())
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(policy = %object.name, "reconciled"),
                Err(error) => tracing::debug!(%error, "reconcile did not complete"),
            }
        });
    // Notifiers: a missing Notifier CRD only leaves notifications off (the watcher logs and
    // retries); policies are reconciled all the same.
    let notifier_ctx = Arc::new(notifier::NotifierContext { client: client.clone(), notify, secret_namespace });
    let notifier_triggers = watcher(Api::<Notifier>::all(client.clone()), watcher::Config::default().any_semantic())
        .default_backoff()
        .reflect(notifier_writer)
        .applied_objects()
        .predicate_filter(predicates::generation, Default::default());
    let notifier_controller = Controller::for_stream(notifier_triggers, notifiers)
        .graceful_shutdown_on(shutdown)
        .run(notifier::reconcile, notifier::error_policy, notifier_ctx)
        .for_each(|result| async move {
            match result {
                // The watch failing: most often the Notifier CRD is not installed yet.
                Err(controller::Error::QueueError(error)) => {
                    tracing::warn!(%error, "cannot watch Notifiers (is crds/notifier.yaml applied?); retrying")
                }
                Err(error) => tracing::debug!(%error, "notifier reconcile did not complete"),
                Ok(_) => {}
            }
        });
    let controller = futures::future::join(policies, notifier_controller).map(drop);
    let lease = async {
        match elector.as_mut() {
            Some(elector) => elector.keep_leading().await,
            None => std::future::pending().await,
        }
    };
    let lost = tokio::select! {
        ((), ()) = futures::future::join(controller, sets) => None,
        lost = lease => Some(lost),
    };
    set_leader(&health, &metrics, false);
    health.ready.store(false, Ordering::SeqCst);
    if let Some(lost) = lost {
        server.abort();
        tracing::error!(%lost, "lost the leader lease: stopped reconciling");
        let lease = args.leader_election.as_ref().map(|l| l.name.as_str()).unwrap_or_default();
        anyhow::bail!("lost the leader lease {lease}: {lost}");
    }
    if let Some(elector) = elector.as_mut()
        && let Err(error) = elector.release().await
    {
        tracing::warn!(%error, "cannot release the leader lease; a standby takes over when it expires");
    }
    server.abort();
    tracing::info!("controller stopped");
    Ok(())
}

/// Readiness and the `frugal_leader` metric say the same thing.
fn set_leader(health: &crate::http::Health, metrics: &Metrics, leader: bool) {
    health.leader.store(leader, Ordering::SeqCst);
    metrics.leader.set(i64::from(leader));
}

/// The policies that need a reconcile, from a watch that keeps `writer`'s store current.
///
/// The watcher re-lists when its watch expires (410 Gone) or the API server is away, with
/// backoff, so the stream never ends on those errors. Only spec changes (generation, which
/// also moves when deletion starts) and finalizer changes trigger a reconcile: the
/// operator's own status writes must not, or every policy would be reconciled back to back
/// instead of once per resyncInterval.
fn triggers(
    api: Api<CostPolicy>,
    watch: watcher::Config,
    writer: reflector::store::Writer<CostPolicy>,
) -> impl futures::Stream<Item = Result<CostPolicy, watcher::Error>> + Send {
    watcher(api, watch)
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(predicates::generation.combine(predicates::finalizers), Default::default())
}

/// Resolves on the first SIGTERM or Ctrl-C. The SIGTERM handler is installed now, so a
/// signal that arrives before the future is polled is not lost.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| anyhow::anyhow!("cannot listen for SIGTERM: {e}"))?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown requested");
    })
}
