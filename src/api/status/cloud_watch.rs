//! `status.cloudWatch`: log retention, instance alarms and orphan alarms.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the cloudWatch area found and did.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudWatchStatus {
    /// Open findings after the last run: log groups without the wanted retention, running
    /// instances in scope without their alarms, orphan alarms, failed changes.
    pub findings: u32,
    /// Log groups in scope (with logRetention).
    pub log_groups_in_scope: u32,
    /// Log groups in scope that never expire (after the last run).
    pub log_groups_never_expire: u32,
    /// GB stored by the log groups that never expire (after the last run).
    pub never_expire_stored_gb: String,
    pub retention_set_last_run: u32,
    /// Running instances in scope (with instanceAlarms).
    pub instances_in_scope: u32,
    /// Running instances in scope missing one of their alarms (after the last run).
    pub instances_without_alarms: u32,
    pub alarms_created_last_run: u32,
    /// This policy's alarms edited by someone and put back as declared.
    pub alarms_reverted_last_run: u32,
    /// Alarms of someone else on the same metric and instance: used instead of making one.
    pub alarms_adopted: u32,
    /// Alarms whose instance no longer exists (after the last run).
    pub orphan_alarms: u32,
    /// Orphan alarms tagged frugal.dev/expires-at, waiting for the grace period.
    pub orphan_alarms_expiring: u32,
    pub orphan_alarms_deleted_last_run: u32,
    /// Deleted by this policy since it was created.
    pub orphan_alarms_deleted_total: u64,
    /// The largest log groups that never expire, at most 20.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_groups: Vec<LogGroupStatus>,
    /// Orphan alarms, at most 20.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orphans: Vec<OrphanAlarmStatus>,
}

/// A log group without the wanted retention.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupStatus {
    pub name: String,
    pub stored_gb: String,
    /// Days; absent: never expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// Reported, RetentionSet or Failed (by the last run).
    pub state: String,
}

/// An alarm whose instance no longer exists.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrphanAlarmStatus {
    pub alarm_name: String,
    pub instance_id: String,
    /// Reported, Expiring, Deleted, Kept (someone else's, with orphanAlarms Delete) or Failed.
    pub state: String,
}
