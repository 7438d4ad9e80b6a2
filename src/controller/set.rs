//! The CostPolicySet controller: per set, `validate` → `resolve` the accounts (its ids, or
//! AWS Organizations through `crate::set::accounts`) → `desired` (pure, `crate::set`) →
//! apply each generated CostPolicy by server-side apply (its own field manager, forced, so a
//! hand edit of a managed field is reverted) → delete the generated policies no longer
//! desired → status from the generated policies' status (no AWS call).
//!
//! An invalid spec writes Stalled and changes no policy; a failed Organizations read writes
//! Ready=False (OrganizationsUnavailable), changes no policy and is retried with backoff.
//! Events: PolicyGenerated, PolicyDeleted; Warnings InvalidSpec, NameTaken,
//! OrganizationsUnavailable. Deleting a set deletes its policies
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
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, Reporter};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};

use super::backoff::Backoff;
use super::context::{UnpublishedEvents, listed_names};
use super::events::{normal, warning};
use super::status::{self, StatusWriteError};
use crate::api::conditions::{self, STALLED, reason};
use crate::api::names::{CONTROLLER_NAME, LABEL_SET, SET_FIELD_MANAGER};
use crate::api::validate::{SetAccounts, validate_set};
use crate::api::{CostPolicy, CostPolicySet, CostPolicySetStatus};
use crate::metrics::{ErrorLabels, Metrics, ReconcileLabels};
use crate::set::accounts::{AccountsError, OrganizationReader, resolve};
use crate::set::desired::{desired, is_controlled_by, owner_reference};
use crate::set::status::{Observed, set_reason, status as set_status};

/// How often a set is reconciled without any change: a safety net for a missed watch event,
/// and how soon an account that joins or leaves an organization unit is noticed.
const RESYNC: Duration = Duration::from_secs(600);

/// What every set reconcile shares.
pub struct SetContext {
    pub client: Client,
    /// Reads the accounts of sets over organization units.
    pub organizations: Arc<dyn OrganizationReader>,
    pub metrics: Arc<Metrics>,
    /// Who publishes the sets' Events (the same controller name as the policies').
    pub reporter: Reporter,
    /// Per-set backoff of failed reconciles (an Organizations read, the API server).
    pub backoff: Backoff,
    /// The accounts last read from Organizations, per set.
    resolved: ResolvedAccounts,
    /// The sets' Events not yet written (the API server was unreachable), by set name.
    unpublished: UnpublishedEvents,
    /// The sets the controller watches (its reflector), to drop a deleted set's gauges.
    pub sets: Option<Store<CostPolicySet>>,
    /// Every generated CostPolicy (the watch that also triggers the sets' reconciles): a
    /// reconcile reads its policies here, not with a LIST, since every status change of any
    /// of a set's policies reconciles the set.
    policies: Store<CostPolicy>,
}

/// The accounts last read from Organizations per set uid, with the set's resourceVersion
/// then: a reconcile triggered by a generated policy's status change reuses them, while any
/// change of the set itself (spec, labels, annotations) or the resync reads again. Without it
/// every status change of any generated policy would walk the organization.
#[derive(Default)]
struct ResolvedAccounts(std::sync::Mutex<std::collections::HashMap<String, Resolved>>);

/// One read: the set's resourceVersion then, when, and the accounts.
type Resolved = (Option<String>, std::time::Instant, Vec<String>);

impl ResolvedAccounts {
    fn get(&self, uid: &str, resource_version: Option<&String>) -> Option<Vec<String>> {
        let cache = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (version, read_at, accounts) = cache.get(uid)?;
        (version.as_ref() == resource_version && read_at.elapsed() < RESYNC).then(|| accounts.clone())
    }

    fn put(&self, uid: &str, resource_version: Option<String>, accounts: &[String]) {
        let mut cache = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.insert(uid.to_string(), (resource_version, std::time::Instant::now(), accounts.to_vec()));
    }

    fn forget(&self, uid: &str) {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(uid);
    }
}

impl SetContext {
    pub fn new(client: Client, organizations: Arc<dyn OrganizationReader>, metrics: Arc<Metrics>, policies: Store<CostPolicy>) -> Self {
        let reporter = Reporter { controller: CONTROLLER_NAME.to_string(), instance: std::env::var("POD_NAME").ok() };
        Self {
            client,
            organizations,
            metrics,
            reporter,
            backoff: Backoff::default(),
            resolved: ResolvedAccounts::default(),
            unpublished: UnpublishedEvents::default(),
            sets: None,
            policies,
        }
    }
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
    /// The accounts could not be read: nothing was applied or deleted.
    #[error("{0}")]
    Organizations(#[from] AccountsError),
    /// The watch of generated policies ended before its first listing (shutting down).
    #[error("the watch of generated CostPolicies ended before it listed them")]
    PoliciesUnwatched,
}

impl SetError {
    /// The `category` label of frugal_set_reconcile_errors.
    pub fn category(&self) -> &'static str {
        match self {
            SetError::Kube(_) | SetError::NoUid(_) | SetError::PoliciesUnwatched => "kubernetes",
            SetError::Status(_) => "status",
            SetError::Organizations(_) => "organizations",
        }
    }
}

pub async fn reconcile_set(set: Arc<CostPolicySet>, ctx: Arc<SetContext>) -> Result<Action, SetError> {
    let name = set.name_any();
    let result = reconcile_inner(&set, &ctx).await;
    let label = match &result {
        Ok(Outcome::Done) => {
            ctx.backoff.reset(&name);
            "success"
        }
        Ok(Outcome::Invalid) => "invalid_spec",
        Err(SetError::Organizations(_)) => "organizations_unavailable",
        Err(_) => "error",
    };
    ctx.metrics.set_reconciles.get_or_create(&ReconcileLabels { result: label.to_string() }).inc();
    if let Some(live) = ctx.sets.as_ref().and_then(listed_names) {
        ctx.metrics.retain_sets(&live);
    }
    if let Err(error) = &result {
        ctx.metrics.set_reconcile_errors.get_or_create(&ErrorLabels { category: error.category().to_string() }).inc();
    }
    match result? {
        Outcome::Done => Ok(Action::requeue(RESYNC)),
        Outcome::Invalid => Ok(Action::await_change()),
    }
}

enum Outcome {
    /// Applied and deleted what the set says (or it is being deleted).
    Done,
    /// The spec is invalid: nothing changed until it is edited.
    Invalid,
}

async fn reconcile_inner(set: &CostPolicySet, ctx: &SetContext) -> Result<Outcome, SetError> {
    let name = set.name_any();
    if set.meta().deletion_timestamp.is_some() {
        // The garbage collector deletes the generated policies; nothing is ours to do.
        ctx.metrics.forget_set(&name);
        if let Some(uid) = &set.meta().uid {
            ctx.resolved.forget(uid);
        }
        return Ok(Outcome::Done);
    }
    let uid = set.meta().uid.clone().ok_or_else(|| SetError::NoUid(name.clone()))?;
    let policies: Api<CostPolicy> = Api::all(ctx.client.clone());
    let sets: Api<CostPolicySet> = Api::all(ctx.client.clone());
    // Before the first listing the cache is empty, and every policy would look missing.
    ctx.policies.wait_until_ready().await.map_err(|_| SetError::PoliciesUnwatched)?;
    // The cache may lag a write of this controller by a moment: a policy not there yet is
    // found by its GET below, one deleted meanwhile is deleted with its uid as precondition.
    let mut existing: BTreeMap<String, Arc<CostPolicy>> = ctx
        .policies
        .state()
        .into_iter()
        .filter(|p| is_controlled_by(p, &uid) && p.metadata.deletion_timestamp.is_none())
        .map(|p| (p.name_any(), p))
        .collect();
    let previous = set.status.as_ref();
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    // What the set's status says when nothing was applied or deleted.
    let unchanged = |existing: BTreeMap<String, Arc<CostPolicy>>| -> Vec<Arc<CostPolicy>> { existing.into_values().collect() };

    let valid = match validate_set(&name, &set.spec) {
        Ok(valid) => valid,
        Err(invalid) => {
            // An invalid spec never deletes: the policies stay as they were until it is fixed.
            tracing::warn!(set = %name, error = %invalid, "invalid CostPolicySet spec");
            let current = unchanged(existing);
            let observed = Observed {
                policies: &current,
                invalid: Some(&invalid),
                names_taken: &[],
                organizations_error: None,
                accounts: previous.map_or(0, |p| p.accounts),
                regions: previous.map_or(0, |p| p.regions),
            };
            let new = set_status(previous, set.meta().generation, &observed, &now);
            let mut events = Vec::new();
            if newly_stalled(previous, &new) {
                events.push(warning(reason::INVALID_SPEC, "Validate", invalid.to_string()));
            }
            write_if_changed(&sets, set, new, ctx).await?;
            publish(ctx, set, events).await;
            return Ok(Outcome::Invalid);
        }
    };
    let version = set.meta().resource_version.clone();
    let cached = match &valid.accounts {
        SetAccounts::Organization(_) => ctx.resolved.get(&uid, version.as_ref()),
        SetAccounts::Ids(_) => None,
    };
    let read = match cached {
        Some(accounts) => Ok(accounts),
        None => resolve(&valid, ctx.organizations.as_ref()).await.inspect(|accounts| {
            if let SetAccounts::Organization(_) = &valid.accounts {
                ctx.resolved.put(&uid, version, accounts);
            }
        }),
    };
    let accounts = match read {
        Ok(accounts) => accounts,
        Err(error) => {
            // A failed read never deletes (safety rule 12): the policies stay as they were.
            tracing::warn!(set = %name, %error, "cannot read the set's accounts from AWS Organizations; its policies are kept");
            let current = unchanged(existing);
            let observed = Observed {
                policies: &current,
                invalid: None,
                names_taken: &[],
                organizations_error: Some(&error),
                accounts: previous.map_or(0, |p| p.accounts),
                regions: count(valid.regions.len()),
            };
            write_if_changed(&sets, set, set_status(previous, set.meta().generation, &observed, &now), ctx).await?;
            let note = format!("the accounts could not be read; the {} generated policies are kept as they are: {error}", current.len());
            publish(ctx, set, vec![warning(set_reason::ORGANIZATIONS_UNAVAILABLE, "ListAccountsForParent", note)]).await;
            return Err(error.into());
        }
    };
    let owner = owner_reference(set).ok_or_else(|| SetError::NoUid(name.clone()))?;
    let apply = PatchParams::apply(SET_FIELD_MANAGER).force();
    let mut current = Vec::new();
    let mut names_taken = Vec::new();
    let mut applied_names = Vec::new();
    for generated in desired(&valid, &accounts) {
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
        applied_names.push(generated.name);
        current.push(Arc::new(applied));
    }
    // What is left is no longer desired: its account or region left the set.
    let mut deleted = Vec::new();
    for (stale, policy) in existing {
        let params = DeleteParams {
            preconditions: Some(Preconditions { uid: policy.metadata.uid.clone(), resource_version: None }),
            ..DeleteParams::default()
        };
        match policies.delete(&stale, &params).await {
            Ok(_) => {
                tracing::info!(set = %name, policy = %stale, "deleted a generated CostPolicy no longer in the set");
                deleted.push(stale);
            }
            Err(kube::Error::Api(refusal)) if refusal.is_not_found() => {}
            Err(error) => {
                // The deletions so far still get their Event.
                publish(ctx, set, change_events(&applied_names, &deleted)).await;
                return Err(error.into());
            }
        }
    }
    let observed = Observed {
        policies: &current,
        invalid: None,
        names_taken: &names_taken,
        organizations_error: None,
        accounts: count(accounts.len()),
        regions: count(valid.regions.len()),
    };
    let new = set_status(previous, set.meta().generation, &observed, &now);
    let mut events = change_events(&applied_names, &deleted);
    if !names_taken.is_empty() && newly_stalled(previous, &new) {
        events.push(warning(
            set_reason::NAME_TAKEN,
            "Apply",
            format!("CostPolicies not controlled by this set hold the names it generates: {}", names_taken.join(", ")),
        ));
    }
    write_if_changed(&sets, set, new, ctx).await?;
    publish(ctx, set, events).await;
    Ok(Outcome::Done)
}

/// One Event for the policies applied and one for those deleted: the Recorder would fold a
/// second Event of the same reason into the first, losing its note.
fn change_events(applied: &[String], deleted: &[String]) -> Vec<Event> {
    let mut events = Vec::new();
    if !applied.is_empty() {
        events.push(normal(
            "PolicyGenerated",
            "Apply",
            format!("applied {} generated CostPolicies: {}", applied.len(), applied.join(", ")),
        ));
    }
    if !deleted.is_empty() {
        events.push(normal(
            "PolicyDeleted",
            "Delete",
            format!("deleted {} generated CostPolicies whose account or region left the set: {}", deleted.len(), deleted.join(", ")),
        ));
    }
    events
}

/// True when `new` is Stalled for another reason or message than `previous` was: a Warning
/// once per cause, not once per reconcile.
fn newly_stalled(previous: Option<&CostPolicySetStatus>, new: &CostPolicySetStatus) -> bool {
    let stalled = |status: Option<&CostPolicySetStatus>| {
        status
            .and_then(|s| conditions::find(&s.conditions, STALLED))
            .filter(|c| c.status == conditions::TRUE)
            .map(|c| (c.reason.clone(), c.message.clone()))
    };
    let now = stalled(Some(new));
    now.is_some() && now != stalled(previous)
}

/// Publishes the set's Events (those an earlier publish could not write first); a failure
/// never fails the reconcile, and the Event waits for the next publish, as for policies.
async fn publish(ctx: &SetContext, set: &CostPolicySet, events: Vec<Event>) {
    super::events::publish_about(&ctx.client, &ctx.reporter, &ctx.unpublished, set, events).await;
}

/// Writes the status when it changed, and publishes the set's gauges from it.
async fn write_if_changed(
    sets: &Api<CostPolicySet>,
    set: &CostPolicySet,
    new: CostPolicySetStatus,
    ctx: &SetContext,
) -> Result<(), StatusWriteError> {
    ctx.metrics.record_set(&set.name_any(), &new);
    match status::write_if_changed(sets, set, set.status.as_ref(), &new).await {
        Err(error) if error.policy_is_gone() => Ok(()),
        other => other,
    }
}

pub fn set_error_policy(set: Arc<CostPolicySet>, error: &SetError, ctx: Arc<SetContext>) -> Action {
    let name = set.name_any();
    let delay = ctx.backoff.next_delay(&name);
    tracing::warn!(set = %name, %error, retry_in = ?delay, "CostPolicySet reconcile failed; retrying");
    Action::requeue(delay)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The set Controller: sets (those whose labels match the operator's selector, as for
/// policies) and the CostPolicies they generate, so a hand edit or deletion of a generated
/// policy, and its status changes, reconcile its set.
pub async fn run(
    client: Client,
    organizations: Arc<dyn OrganizationReader>,
    metrics: Arc<Metrics>,
    selector: Option<String>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let mut sets_watch = watcher::Config::default().any_semantic();
    if let Some(selector) = &selector {
        sets_watch = sets_watch.labels(selector);
    }
    // Only generated policies: every one carries the set label.
    let owned_watch = watcher::Config::default().any_semantic().labels(LABEL_SET);
    let (policies, writer) = reflector::store();
    let generated = watcher(Api::<CostPolicy>::all(client.clone()), owned_watch).default_backoff().reflect(writer).touched_objects();
    let controller = Controller::new(Api::<CostPolicySet>::all(client.clone()), sets_watch);
    let mut ctx = SetContext::new(client.clone(), organizations, metrics, policies);
    ctx.sets = Some(controller.store());
    let ctx = Arc::new(ctx);
    controller
        .owns_stream(generated)
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
