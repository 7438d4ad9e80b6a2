//! The `accessKeys` spec section: people and programs use IAM roles, not IAM users with
//! long-lived access keys.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Long-lived IAM user access keys: found, reported and, in Enforce mode with
/// deactivateUnused, deactivated after a grace period (never deleted).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessKeysSpec {
    /// An active key older than this many days (by its creation date) is a finding.
    #[serde(default = "default_days")]
    #[schemars(range(min = 1, max = 3650))]
    pub max_key_age_days: u32,

    /// An active key not used for this many days (a key never used: since its creation) is a
    /// finding, and the only kind of key deactivateUnused deactivates.
    #[serde(default = "default_days")]
    #[schemars(range(min = 1, max = 3650))]
    pub max_unused_days: u32,

    /// In Enforce mode, deactivate active keys unused for maxUnusedDays: the user is first
    /// tagged frugal.dev/deactivate-<AccessKeyId>, and the key is deactivated on a later run
    /// after gracePeriod if it is still unused. A key is never deleted.
    #[serde(default)]
    pub deactivate_unused: bool,

    /// How long a user carries the mark before its key is deactivated (e.g. 7d or 168h;
    /// at most 365d; 0s deactivates in the same run without a mark).
    #[serde(default = "default_grace_period")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$"))]
    pub grace_period: String,

    /// At most this many keys are deactivated in one run; the rest wait for the next run.
    #[serde(default = "default_max_deactivations")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_deactivations_per_run: u32,

    /// Users whose keys are never touched (nor counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<AccessKeysExclude>,
}

/// Users out of scope.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessKeysExclude {
    /// Users carrying all of these tags (keys and values); empty: no user is excluded by tag.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 50))]
    pub user_tags: BTreeMap<String, String>,

    /// Users by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 500), extend("x-kubernetes-list-type" = "set"))]
    pub user_names: Vec<String>,
}

fn default_days() -> u32 {
    90
}

fn default_grace_period() -> String {
    "7d".to_string()
}

fn default_max_deactivations() -> u32 {
    10
}
