//! What every reconcile shares.

use std::sync::Arc;

use kube::Client;
use kube::runtime::events::Reporter;
use kube::runtime::reflector::Store;

use crate::api::CostPolicy;

use crate::api::allowlist::RoleAllowlist;
use crate::api::names::CONTROLLER_NAME;
use crate::engine::CloudConnector;
use crate::metrics::Metrics;

use super::backoff::Backoff;
use super::validated::ValidatedSpecs;

pub struct Context {
    pub client: Client,
    pub connector: Arc<dyn CloudConnector>,
    pub metrics: Arc<Metrics>,
    /// Who publishes Events; `events::publish` makes a Recorder from it for each batch.
    pub reporter: Reporter,
    pub backoff: Backoff,
    /// Roles policies may ask the operator to assume.
    pub allowed_roles: RoleAllowlist,
    /// Every policy the controller watches, to find the ones a policy conflicts with.
    pub policies: Option<Store<CostPolicy>>,
    /// Their validated specs, one validation per generation.
    pub validated: ValidatedSpecs,
    /// Events the API server did not take, per policy, published with the policy's next
    /// Events (see `events::publish`).
    pub unpublished: UnpublishedEvents,
    /// Where a run's news goes (none: notifications are off, as in the one-shot CLI).
    pub notify: Option<Arc<crate::notify::Notify>>,
}

impl Context {
    pub fn new(client: Client, connector: Arc<dyn CloudConnector>, metrics: Arc<Metrics>) -> Self {
        let reporter = Reporter { controller: CONTROLLER_NAME.to_string(), instance: std::env::var("POD_NAME").ok() };
        Self {
            client,
            connector,
            metrics,
            reporter,
            backoff: Backoff::default(),
            allowed_roles: RoleAllowlist::default(),
            policies: None,
            validated: ValidatedSpecs::default(),
            unpublished: UnpublishedEvents::default(),
            notify: None,
        }
    }
}

impl Context {
    /// Restricts aws.roleArn to these patterns (`--allowed-role-arns`).
    pub fn with_allowed_roles(mut self, allowed_roles: RoleAllowlist) -> Self {
        self.allowed_roles = allowed_roles;
        self
    }

    /// Sends each run's news to the Notifiers.
    pub fn with_notify(mut self, notify: Arc<crate::notify::Notify>) -> Self {
        self.notify = Some(notify);
        self
    }

    /// Lets reconciles see the other policies (the controller's reflector store).
    pub fn with_policies(mut self, policies: Store<CostPolicy>) -> Self {
        self.policies = Some(policies);
        self
    }
}

/// Events waiting for the API server, per policy name; at most [`UnpublishedEvents::MAX`] a
/// policy (the oldest are dropped, and say so in the log).
#[derive(Default)]
pub struct UnpublishedEvents(std::sync::Mutex<std::collections::HashMap<String, Vec<kube::runtime::events::Event>>>);

impl UnpublishedEvents {
    pub const MAX: usize = 20;

    /// The policy's waiting Events, oldest first; none are kept.
    pub fn take(&self, policy: &str) -> Vec<kube::runtime::events::Event> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(policy).unwrap_or_default()
    }

    /// Keeps `events` for the policy's next publish.
    pub fn keep(&self, policy: &str, mut events: Vec<kube::runtime::events::Event>) {
        if events.len() > Self::MAX {
            let dropped = events.drain(..events.len() - Self::MAX).count();
            tracing::warn!(%policy, dropped, "the API server took no Events for a while: the oldest are dropped");
        }
        if !events.is_empty() {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(policy.to_string(), events);
        }
    }
}

/// The names of the objects a watch cache holds, once its first list is complete: before
/// that it holds none, and "not listed" must not read as "deleted".
pub fn listed_names<K>(store: &Store<K>) -> Option<std::collections::BTreeSet<String>>
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    use futures::FutureExt;
    store.wait_until_ready().now_or_never()?.ok()?;
    Some(store.state().iter().map(|o| kube::ResourceExt::name_any(o.as_ref())).collect())
}

#[cfg(test)]
mod tests {
    use kube::runtime::watcher::Event;

    use super::*;

    #[test]
    fn a_watch_cache_names_nothing_until_its_first_list_is_complete() {
        let (store, mut writer) = kube::runtime::reflector::store::<CostPolicy>();
        let policy = CostPolicy::new("team-a", serde_yaml::from_str("aws: {region: eu-west-1}").expect("a spec"));
        writer.apply_watcher_event(&Event::Init);
        writer.apply_watcher_event(&Event::InitApply(policy));
        assert_eq!(listed_names(&store), None, "listing: a policy not yet seen is not a deleted one");
        writer.apply_watcher_event(&Event::InitDone);
        assert_eq!(listed_names(&store), Some(["team-a".to_string()].into()));
    }
}
