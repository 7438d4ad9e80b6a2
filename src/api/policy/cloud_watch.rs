//! The `cloudWatch` spec section: logs kept only as long as needed, a status-check alarm on
//! every instance, no alarms left for instances that are gone.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::TagSelector;

/// CloudWatch Logs retention, instance status-check alarms and alarms of instances that no
/// longer exist. No log group or log data is ever deleted; an alarm made by someone else is
/// never rewritten.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudWatchSpec {
    /// Log groups that never expire get a retention (every GB stored is billed every month).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_retention: Option<LogRetentionSpec>,

    /// A StatusCheckFailed alarm (and optionally a recovering StatusCheckFailed_System alarm)
    /// on every running instance in scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_alarms: Option<InstanceAlarmsSpec>,

    /// Alarms whose InstanceId names an instance that no longer exists (terminated or not
    /// found; a stopped instance is not gone): Report them, Delete those this policy made
    /// (tagged frugal.dev/policy=<name>), or DeleteAll.
    #[serde(default)]
    pub orphan_alarms: OrphanAlarms,

    /// At most this many orphan alarms are deleted in one run.
    #[serde(default = "default_max_deletions")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_deletions_per_run: u32,

    /// An orphan alarm is first tagged frugal.dev/expires-at and deleted on a later run once
    /// this much time has passed (e.g. 24h or 7d; 0s deletes in the same run).
    #[serde(default = "default_grace_period")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$"))]
    pub grace_period: String,
}

/// Which log groups get which retention.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogRetentionSpec {
    /// Days, one of the values CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150,
    /// 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653.
    pub days: u32,

    /// Set a retention only where none is set ("Never expire"). With false, a retention
    /// longer than `days` is shortened too; a shorter one is never lengthened.
    #[serde(default = "enabled")]
    pub only_when_unset: bool,

    /// Which log groups; empty: every log group of the region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LogGroupSelector>,
}

/// Log groups by name.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupSelector {
    /// Log groups whose name starts with one of these, e.g. /aws/lambda/.
    #[serde(default)]
    #[schemars(length(max = 50), extend("x-kubernetes-list-type" = "set"))]
    pub log_group_prefixes: Vec<String>,
}

/// The alarms every running instance in scope has.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceAlarmsSpec {
    /// StatusCheckFailed ≥ 1 for 2 minutes, notifying `notify`.
    #[serde(default = "enabled")]
    pub status_check: bool,

    /// StatusCheckFailed_System ≥ 1 for 2 minutes recovers the instance (EC2's recover action)
    /// and notifies `notify`.
    #[serde(default)]
    pub recover_on_system_failure: bool,

    /// The SNS topic people subscribe to (AWS Chatbot for Slack, a webhook relay for Discord).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$"))]
    pub notify: Option<String>,

    /// Instances carrying these tags; empty: every running instance of the region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<TagSelector>,
}

/// What happens to alarms of instances that no longer exist.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum OrphanAlarms {
    /// Report them with their monthly cost.
    #[default]
    Report,
    /// Delete the ones tagged as this policy's (after the grace period).
    Delete,
    /// Delete every one (after the grace period), whoever made it.
    DeleteAll,
}

fn enabled() -> bool {
    true
}

fn default_max_deletions() -> u32 {
    10
}

fn default_grace_period() -> String {
    "24h".to_string()
}
