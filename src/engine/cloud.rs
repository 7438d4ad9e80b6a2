//! The domain-level view of AWS that the engine needs. The real adapter lives in
//! `crate::aws`; tests of the controller use an in-memory implementation.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::api::AwsTarget;
use crate::api::validate::{GatewayEndpointsDesired, SnapshotRetentionDesired};
use crate::plan::backup::{BackupChange, BackupInventory};
use crate::plan::gateway_endpoints::{GatewayEndpoint, GatewayEndpointsChange, GatewayEndpointsInventory};
use crate::plan::snapshot_retention::{Protection, SnapshotRetentionChange, SnapshotRetentionInventory};
use crate::plan::ssm_access::{SsmAccessChange, SsmAccessInventory};

/// One account and region, reached with the policy's credentials.
#[async_trait]
pub trait Cloud: Send + Sync {
    /// Reads VPCs, route tables, gateway endpoints and NAT metrics for the spec's scope.
    async fn observe_gateway_endpoints(&self, desired: &GatewayEndpointsDesired) -> Result<GatewayEndpointsInventory, CloudError>;
    /// Executes one gateway change; returns the id of a created endpoint.
    async fn apply_gateway_change(&self, change: &GatewayEndpointsChange) -> Result<Option<String>, CloudError>;
    /// Gateway endpoints tagged as created by `policy`.
    async fn owned_gateway_endpoints(&self, policy: &str) -> Result<Vec<GatewayEndpoint>, CloudError>;
    /// Deletes gateway endpoints (and with them their routes).
    async fn delete_gateway_endpoints(&self, ids: &[String]) -> Result<(), CloudError>;
    /// Reads the account's snapshots in scope and every source that protects a snapshot.
    /// Any failed or partial read is an error: retention never plans on partial data.
    async fn observe_snapshots(&self, desired: &SnapshotRetentionDesired) -> Result<SnapshotRetentionInventory, CloudError>;
    /// Executes one snapshot change.
    async fn apply_snapshot_change(&self, change: &SnapshotRetentionChange) -> Result<(), CloudError>;
    /// Reads the backup vault and the plan of the spec's names (with rules, tags and
    /// selections) and the region's EC2 instances and EBS volumes. Any failed read is an error.
    /// `policy` names the policy whose tags find its plan again after a rename.
    async fn observe_backup(&self, policy: &str, desired: &crate::api::validate::BackupDesired) -> Result<BackupInventory, CloudError>;
    /// Executes one backup change; returns the id of what was created (vault ARN, plan id,
    /// selection id) or the new version id of an updated plan.
    async fn apply_backup_change(&self, change: &BackupChange) -> Result<Option<String>, CloudError>;
    /// Reads security groups and rules, instances, their profiles, SSM's view of them, the DHMC
    /// setting, key pairs and the key names of every launch template version. Any failed read
    /// is an error: the area is abandoned, never planned on partial data.
    async fn observe_ssm_access(&self, desired: &crate::api::validate::SsmAccessDesired) -> Result<SsmAccessInventory, CloudError>;
    /// Executes one ssmAccess change for `policy` (whose tags go on what it creates).
    async fn apply_ssm_change(&self, policy: &str, change: &SsmAccessChange) -> Result<Option<String>, CloudError>;
}

/// Opens a [`Cloud`] for a policy's account and region.
#[async_trait]
pub trait CloudConnector: Send + Sync {
    async fn connect(&self, target: &AwsTarget) -> Result<Arc<dyn Cloud>, CloudError>;
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
    /// adapter names which one, so nothing downstream reads AWS's message text.
    Protected(Protection),
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
