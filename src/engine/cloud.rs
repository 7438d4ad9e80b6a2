//! The domain-level view of AWS that the engine needs. The real adapter lives in
//! `crate::aws`; tests of the controller use an in-memory implementation.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::api::AwsTarget;
use crate::api::validate::ValidatedPolicy;
use crate::plan::gateway_endpoints::GatewayEndpoint;
use crate::pricing::spend::Spend;
use crate::pricing::{PriceItem, Prices};

use super::area::AreaKind;
pub use super::areas::Cloud;

/// One area's view of one account and region: what its observe step reads and how one of
/// its changes is made. `AwsCloud` implements it in `aws/<area>.rs`, the controller tests'
/// in-memory account in `controller/tests/fake_cloud/<area>.rs`.
#[async_trait]
pub trait AreaCloud<A: AreaKind>: Send + Sync {
    /// Reads what the area's plan needs. Any failed or partial read is an error: the area
    /// is abandoned for the run, never planned on partial data.
    async fn observe(&self, policy: &ValidatedPolicy, desired: &A::Desired) -> Result<A::Inventory, CloudError>;
    /// Executes one change for `policy` (whose tags go on what it creates); returns the id
    /// of what was created, if anything.
    async fn apply(&self, policy: &str, change: &A::Change) -> Result<Option<String>, CloudError>;
}

/// What the gatewayEndpoints area's cleanup needs beyond observe and apply: finding the
/// endpoints a policy created, whatever its spec says now, and deleting them together.
#[async_trait]
pub trait GatewayEndpointsCleanup: Send + Sync {
    /// Gateway endpoints tagged as created by `policy`.
    async fn owned_gateway_endpoints(&self, policy: &str) -> Result<Vec<GatewayEndpoint>, CloudError>;
    /// Deletes gateway endpoints (and with them their routes).
    async fn delete_gateway_endpoints(&self, ids: &[String]) -> Result<(), CloudError>;
}

/// The prices of the account's region: AWS's Price List, shared by every policy of the
/// process for a day.
#[async_trait]
pub trait PriceLookup: Send + Sync {
    /// The prices of `items`. Never fails: what the Price List cannot give comes from the
    /// built-in table, and the prices say so (an estimate is never blocked by pricing).
    async fn prices(&self, items: &[PriceItem]) -> Prices;
}

/// What the account paid in its region, from AWS Cost Explorer.
#[async_trait]
pub trait SpendLookup: Send + Sync {
    /// The unblended cost of `items`' usage types in the region, last month and this month
    /// so far; read at most once a day per account and region (each request costs $0.01).
    async fn spend(&self, items: &[PriceItem]) -> Result<Spend, CloudError>;
}

/// Opens a [`Cloud`] for a policy's account and region.
#[async_trait]
pub trait CloudConnector: Send + Sync {
    async fn connect(&self, target: &AwsTarget) -> Result<Arc<dyn Cloud>, CloudError>;
    /// The account of the operator's own credentials (what a policy without aws.roleArn acts
    /// on): conflicts between policies are decided on accounts, not on how they are reached.
    async fn own_account(&self, region: &str) -> Result<String, CloudError>;
}

/// An AWS call that failed, classified so that status and metrics can say what happened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed ({kind}): {message}")]
pub struct CloudError {
    /// The AWS operation, e.g. DescribeRouteTables, or AssumeRole for credentials.
    pub operation: String,
    pub kind: ErrorKind,
    pub message: String,
}

impl CloudError {
    pub fn new(operation: impl Into<String>, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { operation: operation.into(), kind, message: message.into() }
    }
}

/// Classes of AWS failure; the metric label and the basis of retry decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Throttled,
    AccessDenied,
    NotFound,
    InvalidRequest,
    ServerError,
    Network,
    Credentials,
    /// AWS refused because the resource is in use or managed by another service (e.g. a
    /// snapshot behind an AMI or made by AWS Backup): a protection, not a failure. The AWS
    /// adapter says which one in the area's own words (`backs an AMI`), so nothing
    /// downstream reads AWS's message text and no area type reaches this enum.
    Protected(&'static str),
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::ServerError => "server_error",
            ErrorKind::Network => "network",
            ErrorKind::Credentials => "credentials",
            ErrorKind::Protected(_) => "protected",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
