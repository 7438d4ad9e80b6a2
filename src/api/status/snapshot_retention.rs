//! `status.snapshotRetention`: what the snapshotRetention area found and did.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What snapshot retention found and did.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotRetentionStatus {
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
