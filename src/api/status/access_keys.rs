//! `status.accessKeys`: what the accessKeys area found and did.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// IAM user access keys: findings, marks and deactivations.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessKeysStatus {
    /// Open findings after the last run: active keys over age, unused or never used, users
    /// with two active keys, and failed changes.
    pub findings: u32,
    /// IAM users not excluded.
    pub users_in_scope: u32,
    /// Active keys of the users in scope (after the last run).
    pub active_keys: u32,
    /// Active keys older than maxKeyAgeDays.
    pub keys_over_age: u32,
    /// Active keys not used for maxUnusedDays (never used: since creation).
    pub keys_unused: u32,
    /// Active keys never used.
    pub keys_never_used: u32,
    pub users_with_two_active_keys: u32,
    /// Keys whose user carries a deactivation mark after the last run.
    pub marked: u32,
    pub deactivated_last_run: u32,
    /// Deactivated by this policy since it was created.
    pub deactivated_total: u64,
    /// Keys of the identity the operator runs as: never deactivated.
    pub own_keys_excluded: u32,
    /// Unused keys that cannot be marked (their user has IAM's 50 tags, or the key id is too
    /// long for a tag key): reported, never deactivated.
    #[serde(default)]
    pub keys_not_markable: u32,
    /// The riskiest keys (most unused days first), at most 20; keysNotListed counts the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<AccessKeyStatus>,
    #[serde(default)]
    pub keys_not_listed: u32,
}

/// One access key with a finding or a change.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessKeyStatus {
    pub user_name: String,
    pub access_key_id: String,
    pub age_days: u32,
    /// When the key was last used (RFC 3339); absent when never used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_region: Option<String>,
    /// Days since the last use (never used: since creation).
    pub unused_days: u32,
    /// Reported, Marked, Deactivated, Spared, Excluded or Failed (by the last run).
    pub state: String,
}
