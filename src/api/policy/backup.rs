//! The `backup` spec section: an AWS Backup vault, plan and selection kept aligned.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// AWS Backup: a vault, a plan with explicit schedules and retention, and the selection of
/// resources it protects.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!has(self.minRetentionDays) || !has(self.maxRetentionDays) || self.minRetentionDays <= self.maxRetentionDays", "message": "backup.minRetentionDays must not exceed backup.maxRetentionDays"}
]))]
pub struct BackupSpec {
    /// The backup vault the plan's rules write to.
    pub vault: BackupVaultSpec,
    /// The backup plan (found by name).
    pub plan: BackupPlanSpec,
    /// The resources the plan protects.
    pub selection: BackupSelectionSpec,
    /// Every rule must keep recovery points at least this many days (compliance check, like
    /// AWS Config's backup-plan-min-frequency-and-min-retention-check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 36500))]
    pub min_retention_days: Option<u32>,
    /// No rule may keep recovery points longer than this many days (cost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 36500))]
    pub max_retention_days: Option<u32>,
    /// Which resources must be covered by the selection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<BackupCoverageSpec>,
}

/// The backup vault.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!has(self.kmsKeyArn) || self.create", "message": "backup.vault.kmsKeyArn is only used when backup.vault.create is true"}
]))]
pub struct BackupVaultSpec {
    /// Vault name (2 to 50 letters, digits, hyphens and underscores).
    #[schemars(regex(pattern = r"^[a-zA-Z0-9\-_]{2,50}$"))]
    pub name: String,
    /// Create the vault (tagged as this policy's) when it does not exist; false: it must exist.
    #[serde(default)]
    pub create: bool,
    /// KMS key that encrypts a created vault; absent: AWS Backup's default key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+$"))]
    pub kms_key_arn: Option<String>,
}

/// The backup plan and its rules.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupPlanSpec {
    /// Plan name (1 to 50 letters, digits, hyphens, underscores and dots).
    #[schemars(regex(pattern = r"^[a-zA-Z0-9\-_.]{1,50}$"))]
    pub name: String,
    /// Manage an existing plan of this name that this policy did not create. Without it such a
    /// plan is reported and left alone.
    #[serde(default)]
    pub adopt: bool,
    /// The rules the plan must have, exactly: rules edited, added or removed by hand are reverted.
    #[schemars(length(min = 1, max = 20))]
    pub rules: Vec<BackupRuleSpec>,
}

/// One rule of the plan.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "self.completionWindowMinutes >= self.startWindowMinutes + 60", "message": "completionWindowMinutes must be at least startWindowMinutes + 60"},
    {"rule": "!has(self.moveToColdStorageAfterDays) || self.deleteAfterDays >= self.moveToColdStorageAfterDays + 90", "message": "deleteAfterDays must be at least moveToColdStorageAfterDays + 90"}
]))]
pub struct BackupRuleSpec {
    /// Rule name, unique in the plan (letters, digits, hyphens, underscores and dots).
    #[schemars(regex(pattern = r"^[a-zA-Z0-9\-_.]{1,50}$"))]
    pub name: String,
    /// AWS cron expression with six fields, e.g. cron(0 5 ? * * *) (at most once an hour).
    #[schemars(regex(pattern = r"^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$"))]
    pub schedule: String,
    /// IANA time zone of the schedule, e.g. Europe/Paris; absent: UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_expression_timezone: Option<String>,
    /// Minutes after the scheduled time within which a backup must start (at least 60; AWS's
    /// default 480).
    #[serde(default = "default_start_window")]
    #[schemars(range(min = 60, max = 44640))]
    pub start_window_minutes: u32,
    /// Minutes after the start within which a backup must complete (at least
    /// startWindowMinutes + 60; AWS's default 10080).
    #[serde(default = "default_completion_window")]
    #[schemars(range(min = 120, max = 144000))]
    pub completion_window_minutes: u32,
    /// Days after creation that a recovery point is deleted.
    #[schemars(range(min = 1, max = 36500))]
    pub delete_after_days: u32,
    /// Days after creation that a recovery point moves to cold storage; at least 90 days
    /// before deleteAfterDays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 36500))]
    pub move_to_cold_storage_after_days: Option<u32>,
}

fn default_start_window() -> u32 {
    480
}

fn default_completion_window() -> u32 {
    10080
}

/// The resources the plan protects. AWS Backup selections cannot be changed: a different
/// selection is created first and the old one deleted after.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "(has(self.tags) && size(self.tags) > 0) || (has(self.resources) && size(self.resources) > 0)", "message": "backup.selection needs tags, resources or both"}
]))]
pub struct BackupSelectionSpec {
    /// Name prefix (at most 41 characters); the selection is named <name>-<8 hex digits of its
    /// content>. Absent: frugal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-zA-Z0-9\-_.]{1,41}$"))]
    pub name: Option<String>,
    /// IAM role AWS Backup assumes to make the backups.
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$"))]
    pub iam_role_arn: String,
    /// A resource carrying any one of these tags is selected (AWS Backup ListOfTags,
    /// STRINGEQUALS conditions, combined with OR).
    #[serde(default)]
    #[schemars(extend("maxProperties" = 30))]
    pub tags: BTreeMap<String, String>,
    /// Resource ARNs selected as well (wildcards * allowed as AWS Backup allows them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 500))]
    pub resources: Vec<String>,
}

/// Resources that must be backed up.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupCoverageSpec {
    /// EC2 instances and EBS volumes carrying all these tags must be covered by the selection;
    /// those that are not are reported.
    #[serde(default)]
    #[schemars(extend("maxProperties" = 50))]
    pub required_tags: BTreeMap<String, String>,
}
