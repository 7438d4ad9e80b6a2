//! The `CostPolicy` spec: what a platform team declares for one account and region.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::CostPolicyStatus;

mod access_keys;
mod backup;
mod cloud_watch;
mod gateway_endpoints;
mod right_sizing;
mod snapshot_retention;
mod ssm_access;
pub use access_keys::*;
pub use backup::*;
pub use cloud_watch::*;
pub use gateway_endpoints::*;
pub use right_sizing::*;
pub use snapshot_retention::*;
pub use ssm_access::*;

/// Desired cost and security practices for one AWS account and region.
// The derive repeats `type_` once per printer column, which the lint mistakes for a duplicate.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "frugal.dev",
    version = "v1alpha1",
    kind = "CostPolicy",
    plural = "costpolicies",
    shortname = "cpol",
    category = "frugal",
    status = "CostPolicyStatus",
    doc = "CostPolicy keeps one AWS account and region aligned with declared cost and security practices.",
    printcolumn(name = "Mode", type_ = "string", json_path = ".spec.mode"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Findings", type_ = "integer", json_path = ".status.findings"),
    printcolumn(
        name = "Savings/mo",
        type_ = "string",
        json_path = ".status.cost.monthlySavingsUsd",
        description = "Estimated monthly savings in USD (upper bound)"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.gatewayEndpoints) || has(self.snapshotRetention) || has(self.ssmAccess) || has(self.backup) || has(self.accessKeys) || has(self.rightSizing) || has(self.cloudWatch)", "message": "at least one area must be configured: spec.gatewayEndpoints, spec.snapshotRetention, spec.ssmAccess, spec.backup, spec.accessKeys, spec.rightSizing or spec.cloudWatch"},
    {"rule": "self.mode != 'Enforce' || !has(self.snapshotRetention) || has(self.snapshotRetention.maxDeletionsPerRun)", "message": "spec.snapshotRetention.maxDeletionsPerRun is required in Enforce mode"}
]))]
pub struct CostPolicySpec {
    /// Enforce changes AWS to match the policy; Audit only observes and reports and never calls a
    /// mutating AWS API. Defaults to Audit so that a new policy is never destructive by accident.
    #[serde(default)]
    pub mode: Mode,

    /// The AWS account and region this policy governs.
    pub aws: AwsTarget,

    /// How often the account is re-read to detect drift (e.g. 10m, 1h; at least 30s,
    /// at most 24h). A random jitter of up to 10% is added.
    #[serde(default = "default_resync_interval")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$"))]
    pub resync_interval: String,

    /// What happens to the AWS objects this policy created when the policy is deleted: Retain
    /// leaves them in place, Delete removes the objects tagged with this policy's name.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// How the estimates in status, Events, metrics and `frugal plan` are priced. Prices come
    /// from AWS's Price List for the policy's region (built-in list prices when it cannot be
    /// read, and the status says which).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<PricingSpec>,

    /// S3 and DynamoDB gateway endpoints, so that their traffic does not pay NAT gateway
    /// data-processing charges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_endpoints: Option<GatewayEndpointsSpec>,

    /// EBS snapshots the account owns that are older than the retention allows are tagged as
    /// expiring and deleted after a grace period, never more than maxDeletionsPerRun at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_retention: Option<SnapshotRetentionSpec>,

    /// People reach instances through SSM Session Manager: SSH from the world is closed (only
    /// the exact offending permissions), instances get an SSM-capable instance profile, key
    /// pairs are audited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssm_access: Option<SsmAccessSpec>,

    /// Backups run through an AWS Backup plan with explicit schedules and retention: the vault,
    /// plan rules and selection are kept as declared; hand edits are reverted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupSpec>,

    /// IAM users' long-lived access keys: old, unused and never-used keys are reported; with
    /// deactivateUnused, unused keys are deactivated after a grace period (never deleted, never
    /// the operator's own). IAM is global: one policy per account acts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_keys: Option<AccessKeysSpec>,

    /// Resources sized to what they use, from AWS Compute Optimizer: the account is kept
    /// enrolled, and its findings (overprovisioned, underprovisioned) are reported in dollars.
    /// Nothing is ever resized by the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right_sizing: Option<RightSizingSpec>,

    /// CloudWatch kept cheap and useful: log groups that never expire get a retention, running
    /// instances get a status-check alarm (to the SNS topic people read), and alarms of
    /// instances that no longer exist are reported (or deleted). No log data is ever deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch: Option<CloudWatchSpec>,
}

impl CostPolicySpec {
    /// True when at least one area is configured (the CEL rule "at least one area").
    pub fn has_area(&self) -> bool {
        self.gateway_endpoints.is_some()
            || self.snapshot_retention.is_some()
            || self.ssm_access.is_some()
            || self.backup.is_some()
            || self.access_keys.is_some()
            || self.right_sizing.is_some()
            || self.cloud_watch.is_some()
    }
}

/// How estimates are priced.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PricingSpec {
    /// A private discount off AWS's list prices, in whole percent (0 to 100), applied to every
    /// estimate the operator prices itself. Compute Optimizer's savings (rightSizing) are
    /// AWS's own estimate and are shown as AWS gives them.
    #[serde(default)]
    #[schemars(range(min = 0, max = 100))]
    pub discount_percent: u32,

    /// Read what the account really paid from AWS Cost Explorer (ce:GetCostAndUsage, at most
    /// once a day per account and region: each request costs $0.01) and report it beside the
    /// estimates: per area, the spend on the usage types it changes in the policy's region, for
    /// the last full month and the month so far. A failed read never blocks the areas.
    #[serde(default)]
    pub cost_explorer: bool,
}

pub(super) fn default_resync_interval() -> String {
    "10m".to_string()
}

/// Whether the operator changes AWS or only reports.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum Mode {
    /// Observe, plan and change AWS to match the policy.
    Enforce,
    /// Observe and plan only; never call a mutating AWS API.
    #[default]
    Audit,
}

/// What happens to AWS objects created by a policy when the policy is deleted.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Leave every AWS object in place.
    #[default]
    Retain,
    /// Delete the AWS objects tagged frugal.dev/policy=<name> (never objects the policy adopted).
    Delete,
}

/// The AWS account and region, and how to reach them.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!has(self.externalId) || has(self.roleArn)", "message": "aws.externalId requires aws.roleArn"}
]))]
pub struct AwsTarget {
    /// AWS region, e.g. eu-west-1.
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"), length(max = 32))]
    pub region: String,

    /// IAM role to assume (sts:AssumeRole) in the target account. Without it the operator's own
    /// credentials (IRSA, EKS Pod Identity, the default chain) are used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$"))]
    pub role_arn: Option<String>,

    /// External ID passed to sts:AssumeRole, when the role's trust policy requires one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 1224))]
    pub external_id: Option<String>,
}

/// Selects AWS objects by tags: an object matches when it carries every tag given.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct TagSelector {
    /// Tag keys and values that must all be present. Empty: everything matches.
    #[serde(default)]
    #[schemars(extend("maxProperties" = 50))]
    pub tags: BTreeMap<String, String>,
}

impl TagSelector {
    /// True when `tags` carries every tag of the selector.
    pub fn matches(&self, tags: &BTreeMap<String, String>) -> bool {
        carries_all(tags, &self.tags)
    }
}

/// True when `tags` carries every one of `wanted` (key and value); every set of tags carries
/// an empty `wanted`. The one rule for selectors, exclusions, scopes and required tags.
pub fn carries_all(tags: &BTreeMap<String, String>, wanted: &BTreeMap<String, String>) -> bool {
    wanted.iter().all(|(k, v)| tags.get(k) == Some(v))
}
