//! Status of the backup area.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the backup area found and did.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupStatus {
    /// Open findings: changes still needed, a blocker, resources left uncovered.
    pub findings: u32,
    /// ARN of the backup vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_arn: Option<String>,
    /// Id of the backup plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
    /// Version id of the plan (a new one after every update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_version_id: Option<String>,
    /// Managed (created by this policy), Adopted, NotOwned (same name, left alone) or Missing.
    pub plan_ownership: String,
    /// Id of the selection that matches the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection_id: Option<String>,
    /// Name of that selection (the spec's prefix and a hash of its content).
    pub selection_name: String,
    /// Per rule: effective frequency and retention, and whether they meet the spec's bounds.
    #[serde(default)]
    pub rules: Vec<BackupRuleStatus>,
    /// EC2 instances and EBS volumes the selection covers.
    pub coverage: BackupCoverageStatus,
    /// The last drift corrected: when, the new version id and what differed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_drift_corrected: Option<DriftCorrection>,
    /// Upper bound of the monthly backup storage of the covered volumes, in USD.
    pub estimated_monthly_storage_usd: String,
}

/// Frequency and retention of one rule.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupRuleStatus {
    pub name: String,
    /// Effective frequency of the schedule (longest gap between two runs), e.g. daily.
    pub frequency: String,
    /// Days a recovery point is kept; absent: forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// True when the retention is within minRetentionDays and maxRetentionDays.
    pub compliant: bool,
    /// Why the rule is not compliant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// Coverage of the selection.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupCoverageStatus {
    pub instances_covered: u32,
    pub volumes_covered: u32,
    /// GiB of the covered EBS volumes.
    pub covered_volume_gib: u64,
    /// Instances and volumes carrying coverage.requiredTags that the selection does not cover.
    pub uncovered_count: u32,
    /// The first 20 of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uncovered: Vec<String>,
}

/// A plan whose rules were restored to the spec.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriftCorrection {
    /// When (RFC 3339).
    pub time: String,
    /// The plan's version id after the update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// What differed, field by field, e.g. "rule daily: deleteAfterDays 14 → 35".
    pub differences: Vec<String>,
}
