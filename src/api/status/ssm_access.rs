//! `status.ssmAccess`: what the ssmAccess area found and did.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// SSH exposure, SSM manageability of instances, and key pairs.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SsmAccessStatus {
    /// Open findings after the last run: risky permissions left, instances SSM cannot manage,
    /// unused key pairs, and failed changes.
    pub findings: u32,
    /// Security groups the policy selects.
    pub security_groups_in_scope: u32,
    /// Permissions from 0.0.0.0/0 or ::/0 reaching tcp/22 found by the last run.
    pub world_ssh_found: u32,
    /// Of those, tcp 22 permissions revoked by the last run.
    pub world_ssh_revoked: u32,
    /// Of those, wider tcp ranges split by the last run (the rest of the range kept).
    pub world_ssh_split: u32,
    /// Protocol -1 (all traffic) permissions from the world found by the last run.
    pub all_traffic_from_world_found: u32,
    /// Of those, revoked by the last run (only with revokeAllTrafficFromWorld).
    pub all_traffic_from_world_revoked: u32,
    /// tcp/22 permissions from CIDRs outside allowedSshCidrs (reported, never changed).
    pub ssh_from_unlisted_cidrs: u32,
    /// tcp ranges from the world split around 22 (by this run or an earlier one): every other
    /// port of them is still open to the world (reported, never changed).
    #[serde(default)]
    pub wide_ranges_from_world: u32,
    /// The risky permissions, at most 20; permissionsNotListed counts the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<SsmPermissionStatus>,
    #[serde(default)]
    pub permissions_not_listed: u32,
    /// In-scope instances by how SSM sees them.
    pub instances: SsmInstanceCounts,
    /// Instances SSM cannot manage, at most 20; instancesNotListed counts the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmanaged_instances: Vec<SsmInstanceStatus>,
    #[serde(default)]
    pub instances_not_listed: u32,
    /// The configured instance profile does not exist and may not be created.
    #[serde(default)]
    pub instance_profile_missing: bool,
    /// Why the configured instance profile is not created although instanceProfile.create is
    /// true: a same-named role this policy does not own exists (it is never modified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile_conflict: Option<String>,
    /// The account's SSM Default Host Management role, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_host_management_role: Option<String>,
    /// Why the Default Host Management role the spec names cannot work, when it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_host_management_problem: Option<String>,
    pub key_pairs: KeyPairCounts,
    /// Key pairs used by no instance and no launch template version, at most 20.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unused_key_pairs: Vec<String>,
    #[serde(default)]
    pub unused_key_pairs_not_listed: u32,
}

/// One risky ingress permission.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SsmPermissionStatus {
    pub group_id: String,
    pub rule_id: String,
    /// e.g. `tcp 0-65535 from 0.0.0.0/0`.
    pub permission: String,
    /// WorldSsh, AllTrafficFromWorld or SshFromUnlistedCidr.
    pub kind: String,
    /// Revoked, Split, Reported or Failed (by the last run; Planned in Audit mode).
    pub outcome: String,
}

/// In-scope instances (not pending or terminated) by state.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SsmInstanceCounts {
    pub in_scope: u32,
    /// SSM lists them with PingStatus Online.
    pub managed: u32,
    /// SSM lists them, but not Online (ConnectionLost, e.g. stopped, or Inactive).
    #[serde(default)]
    pub not_online: u32,
    /// No instance profile (and SSM does not list them).
    pub no_profile: u32,
    /// A profile whose roles carry no SSM policy.
    pub profile_without_ssm_policy: u32,
    /// A profile that grants SSM, but SSM does not list them (agent, network).
    pub not_reporting: u32,
    /// Instances with the configured profile (attached by this policy or already there).
    pub profile_attached_by_us: u32,
    /// Profiles attached by the last run.
    pub attached_last_run: u32,
}

/// An instance SSM cannot manage.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SsmInstanceStatus {
    pub instance_id: String,
    /// NoProfile, ProfileWithoutSsmPolicy, NotReporting or NotOnline.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
    /// SSM's PingStatus when SSM lists it (ConnectionLost or Inactive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_status: Option<String>,
}

/// Key pairs of the region.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyPairCounts {
    pub total: u32,
    /// Used by no instance and no launch template version (left after the last run).
    pub unused: u32,
    /// Deleted by the last run.
    pub deleted_last_run: u32,
    /// Deleted by this policy since it was created.
    pub deleted_total: u64,
}
