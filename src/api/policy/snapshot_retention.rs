//! The `snapshotRetention` spec section: EBS snapshots expire by age and count, and are deleted
//! carefully.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::TagSelector;

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
    /// once this much time has passed and it is still expired (e.g. 24h or 7d; 0s deletes in
    /// the same run).
    #[serde(default = "default_grace_period")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$"))]
    pub grace_period: String,
}

fn default_grace_period() -> String {
    "24h".to_string()
}
