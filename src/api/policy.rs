//! The `CostPolicy` spec: what a platform team declares for one account and region.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::services::GatewayService;
use super::status::CostPolicyStatus;

mod backup;
mod ssm_access;
pub use backup::*;
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
    {"rule": "has(self.gatewayEndpoints) || has(self.snapshotRetention) || has(self.ssmAccess) || has(self.backup)", "message": "at least one area must be configured: spec.gatewayEndpoints, spec.snapshotRetention, spec.ssmAccess or spec.backup"},
    {"rule": "self.mode != 'Enforce' || !has(self.snapshotRetention) || has(self.snapshotRetention.maxDeletionsPerRun)", "message": "spec.snapshotRetention.maxDeletionsPerRun is required in Enforce mode"}
]))]
pub struct CostPolicySpec {
    /// Enforce changes AWS to match the policy; Audit only observes and reports and never calls a
    /// mutating AWS API. Defaults to Audit so that a new policy is never destructive by accident.
    #[serde(default)]
    pub mode: Mode,

    /// The AWS account and region this policy governs.
    pub aws: AwsTarget,

    /// How often the account is re-read to detect drift (Go duration, e.g. 10m, 1h; at least 30s,
    /// at most 24h). A random jitter of up to 10% is added.
    #[serde(default = "default_resync_interval")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub resync_interval: String,

    /// What happens to the AWS objects this policy created when the policy is deleted: Retain
    /// leaves them in place, Delete removes the objects tagged with this policy's name.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

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
}

/// Which EBS snapshots expire, and how carefully they are deleted.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.maxAgeDays) || has(self.keepLatestPerVolume)", "message": "set snapshotRetention.maxAgeDays, snapshotRetention.keepLatestPerVolume or both"}
]))]
pub struct SnapshotRetentionSpec {
    /// A snapshot older than this many days (by its start time) is expired. With
    /// keepLatestPerVolume also set, a snapshot expires only when both rules say so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 36500))]
    pub max_age_days: Option<u32>,

    /// The newest N completed snapshots of every volume (also of volumes that no longer
    /// exist) never expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub keep_latest_per_volume: Option<u32>,

    /// Snapshots in scope by tag; empty or absent: every snapshot the account owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<TagSelector>,

    /// Snapshots carrying all of these tags are never deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<TagSelector>,

    /// At most this many snapshots are deleted in one run (the blast-radius cap); the rest
    /// wait for the next run. Required in Enforce mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub max_deletions_per_run: Option<u32>,

    /// An expired snapshot is first tagged frugal.dev/expires-at and deleted on a later run
    /// once this much time has passed and it is still expired (Go duration; 0s deletes in the
    /// same run).
    #[serde(default = "default_grace_period")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub grace_period: String,
}

fn default_grace_period() -> String {
    "24h".to_string()
}

fn default_resync_interval() -> String {
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

/// Which VPCs get which gateway endpoints, and in which route tables.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!(has(self.vpcIds) && has(self.vpcSelector))", "message": "set gatewayEndpoints.vpcIds or gatewayEndpoints.vpcSelector, not both"}
]))]
pub struct GatewayEndpointsSpec {
    /// Services that get a gateway endpoint in every VPC in scope.
    #[schemars(length(min = 1, max = 2), extend("x-kubernetes-list-type" = "set"))]
    pub services: Vec<GatewayService>,

    /// VPCs in scope by tag: a VPC matches when it carries every tag given. Empty or absent (and no
    /// vpcIds): every VPC of the region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_selector: Option<TagSelector>,

    /// VPCs in scope by id, instead of vpcSelector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200), extend("x-kubernetes-list-type" = "set"))]
    pub vpc_ids: Option<Vec<VpcId>>,

    /// Route tables that must be associated with the endpoints: Private = route tables whose
    /// default route (0.0.0.0/0) goes to a NAT gateway; All = every route table of the VPC.
    #[serde(default)]
    pub route_tables: RouteTableScope,
}

/// A VPC id such as vpc-0abc1234def567890.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
#[serde(transparent)]
pub struct VpcId(#[schemars(regex(pattern = r"^vpc-[0-9a-f]{8,17}$"))] pub String);

/// Which route tables of a VPC the endpoints must be associated with.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum RouteTableScope {
    /// Route tables whose default route goes to a NAT gateway: where S3/DynamoDB traffic costs money.
    #[default]
    Private,
    /// Every route table of the VPC.
    All,
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
