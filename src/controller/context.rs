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
        }
    }
}

impl Context {
    /// Restricts aws.roleArn to these patterns (`--allowed-role-arns`).
    pub fn with_allowed_roles(mut self, allowed_roles: RoleAllowlist) -> Self {
        self.allowed_roles = allowed_roles;
        self
    }

    /// Lets reconciles see the other policies (the controller's reflector store).
    pub fn with_policies(mut self, policies: Store<CostPolicy>) -> Self {
        self.policies = Some(policies);
        self
    }
}
