//! The CostPolicySet controller: per set, `validate` → `desired` (pure, `crate::set`) →
//! apply each generated CostPolicy by server-side apply (its own field manager, forced, so a
//! hand edit of a managed field is reverted) → delete the generated policies no longer
//! desired → status from the generated policies' status (no AWS call).
//!
//! An invalid spec writes Stalled and changes no policy. Deleting a set deletes its policies
//! through their ownerReferences (Kubernetes' garbage collector, foreground or background as
//! the client asked): no finalizer. Each deleted policy's own finalizer and deletionPolicy
//! decide what happens in AWS.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, Resource, ResourceExt};

use super::status::{self, StatusWriteError};
use crate::api::names::{LABEL_SET, SET_FIELD_MANAGER};
use crate::api::validate::validate_set;
use crate::api::{CostPolicy, CostPolicySet};
use crate::set::desired::{desired, is_controlled_by, owner_reference};
use crate::set::naming::set_label_value;
use crate::set::status::{Observed, status as set_status};

/// How often a set is reconciled without any change: a safety net for a missed watch event.
const RESYNC: Duration = Duration::from_secs(600);
/// Retry after a failed reconcile.
const RETRY: Duration = Duration::from_secs(30);

/// What every set reconcile shares.
pub struct SetContext {
    pub client: Client,
}

/// Why a set reconcile did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("status: {0}")]
    Status(#[from] StatusWriteError),
    /// Only objects read from the API server reach a reconcile, and they have a uid.
    #[error("CostPolicySet {0} has no uid")]
    NoUid(String),
}

pub async fn reconcile_set(set: Arc<CostPolicySet>, ctx: Arc<SetContext>) -> Result<Action, SetError> {
    let name = set.name_any();
    if set.meta().deletion_timestamp.is_some() {
        // The garbage collector deletes the generated policies; nothing is ours to do.
        return Ok(Action::await_change());
    }
    let uid = set.meta().uid.clone().ok_or_else(|| SetError::NoUid(name.clone()))?;
    let policies: Api<CostPolicy> = Api::all(ctx.client.clone());
    let sets: Api<CostPolicySet> = Api::all(ctx.client.clone());
    let selector = format!("{LABEL_SET}={}", set_label_value(&name));
    let mut existing: BTreeMap<String, CostPolicy> = policies
        .list(&ListParams::default().labels(&selector))
        .await?
        .items
        .into_iter()
        .filter(|p| is_controlled_by(p, &uid) && p.metadata.deletion_timestamp.is_none())
        .map(|p| (p.name_any(), p))
        .collect();
    let previous = set.status.as_ref();
    let now = Time(k8s_openapi::jiff::Timestamp::now());

    let valid = match validate_set(&name, &set.spec) {
        Ok(valid) => valid,
        Err(invalid) => {
            // An invalid spec never deletes: the policies stay as they were until it is fixed.
            tracing::warn!(set = %name, error = %invalid, "invalid CostPolicySet spec");
            let current: Vec<CostPolicy> = existing.into_values().collect();
            let observed = Observed {
                policies: &current,
                invalid: Some(&invalid),
                names_taken: &[],
                accounts: previous.map_or(0, |p| p.accounts),
                regions: previous.map_or(0, |p| p.regions),
            };
            write_if_changed(&sets, &set, set_status(previous, set.meta().generation, &observed, &now)).await?;
            return Ok(Action::await_change());
        }
    };
    let owner = owner_reference(&set).ok_or_else(|| SetError::NoUid(name.clone()))?;
    let apply = PatchParams::apply(SET_FIELD_MANAGER).force();
    let mut current = Vec::new();
    let mut names_taken = Vec::new();
    for generated in desired(&valid) {
        if let Some(policy) = existing.remove(&generated.name) {
            if generated.is_applied(&policy, &owner) {
                current.push(policy);
                continue;
            }
        } else if let Some(other) = policies.get_opt(&generated.name).await?
            && !is_controlled_by(&other, &uid)
        {
            // A policy the set does not control has this name: taking it over would rewrite
            // someone else's policy (and let the garbage collector delete it with the set).
            names_taken.push(generated.name);
            continue;
        }
        let applied = policies.patch(&generated.name, &apply, &Patch::Apply(generated.object(owner.clone()))).await?;
        tracing::info!(set = %name, policy = %generated.name, "applied generated CostPolicy");
        current.push(applied);
    }
    // What is left is no longer desired: its account or region left the set.
    for (stale, policy) in existing {
        let params = DeleteParams {
            preconditions: Some(Preconditions { uid: policy.metadata.uid.clone(), resource_version: None }),
            ..DeleteParams::default()
        };
        match policies.delete(&stale, &params).await {
            Ok(_) => tracing::info!(set = %name, policy = %stale, "deleted a generated CostPolicy no longer in the set"),
            Err(kube::Error::Api(refusal)) if refusal.is_not_found() => {}
            Err(error) => return Err(error.into()),
        }
    }
    let observed = Observed {
        policies: &current,
        invalid: None,
        names_taken: &names_taken,
        accounts: count(valid.accounts.len()),
        regions: count(valid.regions.len()),
    };
    write_if_changed(&sets, &set, set_status(previous, set.meta().generation, &observed, &now)).await?;
    Ok(Action::requeue(RESYNC))
}

/// Writes the status only when it differs from the one the set has: a reconcile that changes
/// nothing makes no write.
async fn write_if_changed(
    sets: &Api<CostPolicySet>,
    set: &CostPolicySet,
    new: crate::api::CostPolicySetStatus,
) -> Result<(), StatusWriteError> {
    if set.status.as_ref() == Some(&new) {
        return Ok(());
    }
    match status::write(sets, set, &new).await {
        Err(error) if error.policy_is_gone() => Ok(()),
        other => other,
    }
}

pub fn set_error_policy(set: Arc<CostPolicySet>, error: &SetError, _ctx: Arc<SetContext>) -> Action {
    tracing::warn!(set = %set.name_any(), %error, "CostPolicySet reconcile failed; retrying");
    Action::requeue(super::backoff::jitter(RETRY, 0.1))
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The set Controller: sets (those whose labels match the operator's selector, as for
/// policies) and the CostPolicies they generate, so a hand edit or deletion of a generated
/// policy, and its status changes, reconcile its set.
pub async fn run(client: Client, selector: Option<String>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) {
    let mut sets_watch = watcher::Config::default().any_semantic();
    if let Some(selector) = &selector {
        sets_watch = sets_watch.labels(selector);
    }
    // Only generated policies: every one carries the set label.
    let owned_watch = watcher::Config::default().any_semantic().labels(LABEL_SET);
    let ctx = Arc::new(SetContext { client: client.clone() });
    Controller::new(Api::<CostPolicySet>::all(client.clone()), sets_watch)
        .owns(Api::<CostPolicy>::all(client), owned_watch)
        .graceful_shutdown_on(shutdown)
        .run(reconcile_set, set_error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(set = %object.name, "reconciled"),
                Err(error) => tracing::debug!(%error, "set reconcile did not complete"),
            }
        })
        .await;
}
