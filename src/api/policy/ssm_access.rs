//! The `ssmAccess` spec section: people reach instances through SSM Session Manager, not SSH.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Close SSH to the world, make instances manageable by SSM, audit key pairs.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!(has(self.securityGroupIds) && has(self.securityGroupSelector))", "message": "set ssmAccess.securityGroupIds or ssmAccess.securityGroupSelector, not both"},
    {"rule": "!has(self.instanceSelector) || !(has(self.instanceSelector.tags) && has(self.instanceSelector.instanceIds))", "message": "set ssmAccess.instanceSelector.tags or ssmAccess.instanceSelector.instanceIds, not both"}
]))]
pub struct SsmAccessSpec {
    /// Revoke ingress permissions from 0.0.0.0/0 or ::/0 that reach tcp/22: tcp 22-22 is revoked,
    /// a wider tcp range is split (the rest of the range is authorized first, then the wide
    /// permission revoked). When false, such permissions are only reported.
    #[serde(default)]
    pub revoke_world_ssh: bool,

    /// Also revoke protocol -1 (all traffic) permissions from 0.0.0.0/0 or ::/0. This removes
    /// every kind of access that permission gave; when false they are only reported.
    #[serde(default)]
    pub revoke_all_traffic_from_world: bool,

    /// CIDRs (IPv4 or IPv6) from which SSH stays allowed; permissions from them are never
    /// touched. 0.0.0.0/0 and ::/0 are not allowed here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), extend("x-kubernetes-list-type" = "set"))]
    pub allowed_ssh_cidrs: Vec<String>,

    /// Security groups in scope by tag; empty or absent (and no securityGroupIds): every security
    /// group of the region. Without instanceSelector, instances are in scope when they have any
    /// security group in scope (every instance when the scope is the whole region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_group_selector: Option<super::TagSelector>,

    /// Security groups in scope by id, instead of securityGroupSelector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 500), extend("x-kubernetes-list-type" = "set"))]
    pub security_group_ids: Option<Vec<String>>,

    /// Instances in scope for the instance profile and the SSM checks, by their own tags or ids,
    /// whatever their security groups. Absent: instances follow their security groups (see
    /// securityGroupSelector). The security group rules are scoped by the security group
    /// fields either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_selector: Option<InstanceSelector>,

    /// The instance profile that lets SSM manage an instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<InstanceProfileSpec>,

    /// The account-level SSM Default Host Management Configuration, which lets SSM manage
    /// instances without an instance profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_host_management: Option<DefaultHostManagementSpec>,

    /// Report lists every key pair and whether an instance or a launch template version uses
    /// it; DeleteUnused also deletes the key pairs used by neither.
    #[serde(default)]
    pub key_pairs: KeyPairPolicy,
}

/// Instances by tags or by ids (one of them).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceSelector {
    /// Instances carrying all of these tags (keys and values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 50))]
    pub tags: Option<std::collections::BTreeMap<String, String>>,

    /// Instances by id (i- and 8 or 17 hex digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 500), extend("x-kubernetes-list-type" = "set"))]
    pub instance_ids: Option<Vec<String>>,
}

/// The instance profile attached to instances that have none.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceProfileSpec {
    /// Name of the instance profile (and, with create, of its role).
    #[schemars(regex(pattern = r"^[\w+=,.@-]{1,128}$"))]
    pub name: String,

    /// Associate this profile with in-scope instances that have no instance profile. A profile
    /// someone else attached is never replaced or edited; it is reported instead.
    #[serde(default)]
    pub attach_when_missing: bool,

    /// Create the role (trusting ec2.amazonaws.com, with AmazonSSMManagedInstanceCore) and the
    /// instance profile when no profile of that name exists. Both are tagged as the policy's.
    #[serde(default)]
    pub create: bool,
}

/// SSM Default Host Management Configuration.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DefaultHostManagementSpec {
    /// Set the account's default EC2 instance management role when it is not set to roleName.
    #[serde(default)]
    pub enabled: bool,

    /// The role SSM uses for instances without a profile ([path/]name); default
    /// service-role/AWSSystemsManagerDefaultEC2InstanceManagementRole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$"))]
    pub role_name: Option<String>,
}

/// What happens to key pairs.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum KeyPairPolicy {
    /// Report every key pair and whether it is used.
    #[default]
    Report,
    /// Delete key pairs used by no instance and no launch template version.
    DeleteUnused,
}
