//! What the operator found, did and saved, as written to `.status`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::services::GatewayService;

mod ssm_access;
pub use ssm_access::*;

mod backup;
pub use backup::*;

/// Observed state of a CostPolicy.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostPolicyStatus {
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready, one <Area>InSync per enabled area, Reconciling and Stalled (kstatus).
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// When the last reconcile finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reconcile_time: Option<String>,

    /// Open findings over all areas (drift that still needs a change).
    #[serde(default)]
    pub findings: u32,

    /// Gateway endpoint details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_endpoints: Option<GatewayEndpointsStatus>,

    /// EBS snapshot retention details (the key is the spec's, as for every area).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_retention: Option<SnapshotsStatus>,

    /// SSM-only access details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssm_access: Option<SsmStatus>,

    /// AWS Backup vault, plan and selection details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupStatus>,

    /// Estimated monthly cost of findings and savings of actions, in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostStatus>,
}

/// What snapshot retention found and did.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotsStatus {
    /// Expired snapshots not deleted yet (expiring, due, pending or failed).
    pub findings: u32,
    /// Snapshots in scope (owned by the account, matching the selector).
    pub evaluated: u32,
    /// Snapshots within the retention rules.
    pub retained: u32,
    /// Expired snapshots tagged frugal.dev/expires-at, waiting for their grace period.
    pub expiring: u32,
    /// When the first expiring snapshot becomes due for deletion (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest_deletion_time: Option<String>,
    /// Expired and due, but beyond maxDeletionsPerRun or deferred by AWS throttling: deleted
    /// by a later run.
    pub pending: u32,
    /// Snapshots deleted by the last reconcile.
    pub deleted_last_run: u32,
    /// Snapshots deleted by this policy since it was created.
    pub deleted_total: u64,
    /// GiB of volume size of the snapshots deleted since the policy was created.
    pub deleted_gib_total: u64,
    /// GiB of volume size of the snapshots deleted by the last reconcile.
    #[serde(default)]
    pub deleted_gib_last_run: u64,
    /// GiB of volume size of the expired snapshots still there after the last reconcile
    /// (expiring, pending, failed; not the protected ones). Volume size is an upper bound of
    /// what a snapshot stores: snapshots are incremental.
    #[serde(default)]
    pub expired_gib: u64,
    /// Deletions that failed in the last reconcile.
    pub failed_last_run: u32,
    /// Expired snapshots kept, by the reason that protects them.
    pub skipped: SkippedSnapshots,
    /// Snapshots deleted by the last reconcile, at most 20.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recently_deleted: Vec<String>,
}

/// Expired snapshots that are never deleted, by reason (DESIGN.md safety rule 2).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkippedSnapshots {
    /// State is not completed.
    pub not_completed: u32,
    /// Under an EBS snapshot lock.
    pub locked: u32,
    /// Made by AWS Backup (its tags, description, or AWS refusing the delete).
    pub managed_by_backup: u32,
    /// Made by Data Lifecycle Manager (aws:dlm:* tags).
    pub managed_by_dlm: u32,
    /// Backs an AMI the account owns (or AWS says it is in use).
    pub used_by_ami: u32,
    /// Named by a launch template version's block device mappings.
    pub used_by_launch_template: u32,
    /// Carries every tag of snapshotRetention.exclude.
    pub excluded: u32,
    /// Expired for this policy, but kept by a conflicting policy whose scope holds it.
    #[serde(default)]
    pub retained_by_other_policy: u32,
}

/// Gateway endpoints of the VPCs in scope.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayEndpointsStatus {
    /// Changes still needed in this area (drift the last run did not fix).
    pub findings: u32,
    /// VPCs the policy selects.
    pub vpcs_in_scope: u32,
    /// Gateway endpoints that do not exist yet.
    pub missing_endpoints: u32,
    /// Route tables in scope not yet associated with the service's endpoint.
    pub missing_route_table_associations: u32,
    /// Endpoints created by the last reconcile.
    pub endpoints_created: u32,
    /// Route table associations added by the last reconcile.
    pub route_tables_associated: u32,
    /// Endpoints the policy did not create but uses (route tables may be added to them).
    pub adopted_endpoints: u32,
    /// Per-VPC detail, at most 50 entries; vpcsNotListed counts the rest.
    #[serde(default)]
    pub vpcs: Vec<VpcEndpointsStatus>,
    /// VPCs in scope beyond the listed ones.
    #[serde(default)]
    pub vpcs_not_listed: u32,
}

/// Endpoints of one VPC.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpcEndpointsStatus {
    /// The VPC id.
    pub vpc_id: String,
    /// One entry per requested service.
    #[serde(default)]
    pub endpoints: Vec<EndpointStatus>,
    /// Monthly NAT gateway data-processing charge of this VPC over the last 30 days, in USD: the
    /// upper bound of what the endpoints save. Absent when CloudWatch has no NAT metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_data_processing_monthly_usd: Option<String>,
}

/// The gateway endpoint of one service in one VPC.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointStatus {
    /// s3 or dynamodb.
    pub service: GatewayService,
    /// The endpoint id; absent while the endpoint is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    /// Managed (created by this policy), Adopted (created by someone else, used as is) or Missing.
    pub ownership: EndpointOwnership,
    /// Route tables in scope that the endpoint does not cover yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route_tables_missing: Vec<String>,
}

/// Who owns a gateway endpoint.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum EndpointOwnership {
    /// Created by this policy (tagged with its name).
    Managed,
    /// Created by someone else; the policy only adds route tables to it.
    Adopted,
    /// No endpoint exists yet.
    Missing,
}

/// Money, as estimated by the operator. Amounts are USD strings with two decimals.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostStatus {
    /// Estimated monthly cost of the open findings.
    pub monthly_waste_usd: String,
    /// Estimated monthly savings of what the operator changed.
    pub monthly_savings_usd: String,
    /// Estimated monthly cost of what the spec itself keeps running (backup storage): cost is
    /// reported beside savings, never netted against them.
    #[serde(default)]
    pub monthly_cost_usd: String,
    /// The same, per area, with the basis of each estimate.
    #[serde(default)]
    pub areas: Vec<AreaCost>,
}

/// Cost estimate of one area.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AreaCost {
    /// The spec section: gatewayEndpoints, snapshotRetention, ssmAccess or backup.
    pub area: String,
    /// Estimated monthly cost of the open findings.
    pub monthly_waste_usd: String,
    /// Estimated monthly savings of what the operator changed.
    pub monthly_savings_usd: String,
    /// Estimated monthly cost of what the spec itself keeps running (backup storage).
    #[serde(default)]
    pub monthly_cost_usd: String,
    /// How the estimate is made and whether it is an upper bound.
    pub basis: String,
}

/// Formats a USD amount the way status shows it.
pub fn usd(amount: f64) -> String {
    format!("{amount:.2}")
}
