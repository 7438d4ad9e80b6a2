//! The Kubernetes wiring: a kube-runtime Controller over CostPolicy.
//!
//! Per object: `finalizer` → `validate` → `connect` → engine (`observe_and_plan` → `act`)
//! → `report` (status by server-side apply, Events, metrics). Invalid specs stop before
//! `connect`, so nothing in AWS is touched; failures reach status and metrics and are
//! retried with per-object exponential backoff.

mod backoff;
mod context;
mod events;
mod reconcile;
mod status;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::StreamExt;
use kube::api::ListParams;
use kube::runtime::Controller;
use kube::runtime::watcher;
use kube::{Api, Client};

use crate::api::CostPolicy;
use crate::api::allowlist::RoleAllowlist;
use crate::aws::AwsConnector;
use crate::cli::RunArgs;
use crate::metrics::Metrics;

pub use context::Context;
pub use reconcile::{ReconcileError, error_policy, reconcile};

/// Runs the controller until SIGTERM or Ctrl-C.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let client = Client::try_default()
        .await
        .map_err(|e| anyhow::anyhow!("cannot build a Kubernetes client from the kubeconfig or the in-cluster config: {e}"))?;
    let metrics = Metrics::new();
    let connector = Arc::new(AwsConnector::new(metrics.clone(), args.pacing.config()));
    let allowed_roles = RoleAllowlist::new(args.allowed_role_arns.clone());
    let ctx = Arc::new(Context::new(client.clone(), connector, metrics.clone()).with_allowed_roles(allowed_roles));
    let health = crate::http::Health::default();
    let server = tokio::spawn(crate::http::serve(args.metrics_addr, metrics.clone(), health.clone()));

    let api: Api<CostPolicy> = Api::all(client);
    let mut list = ListParams::default().limit(1);
    if let Some(selector) = &args.policy_selector {
        list = list.labels(selector);
    }
    api.list(&list).await.map_err(|e| anyhow::anyhow!("cannot list CostPolicies (is the CRD installed? kubectl apply -f crds/): {e}"))?;
    health.ready.store(true, Ordering::SeqCst);
    tracing::info!(selector = ?args.policy_selector, "controller started");

    let mut watch = watcher::Config::default().any_semantic();
    if let Some(selector) = &args.policy_selector {
        watch = watch.labels(selector);
    }
    Controller::new(api, watch)
        .shutdown_on_signal()
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(policy = %object.name, "reconciled"),
                Err(error) => tracing::debug!(%error, "reconcile did not complete"),
            }
        })
        .await;
    health.ready.store(false, Ordering::SeqCst);
    server.abort();
    tracing::info!("controller stopped");
    Ok(())
}
