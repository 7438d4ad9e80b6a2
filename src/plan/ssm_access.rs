//! SSM-only access. Safety rule 4 lives here: only the exact offending permission from
//! 0.0.0.0/0 or ::/0 is touched (tcp 22-22 revoked by rule id; a wider tcp range containing
//! 22 split, its remainder authorized before the wide rule is revoked; protocol -1 revoked
//! only when the spec says so); allowed CIDRs, prefix lists and group references are never
//! touched. A profile someone attached is never replaced; only the configured profile is
//! attached, and only to instances without one. A key pair is deleted only when no instance
//! and no launch template version names it. Audit plans nothing.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::KeyPairPolicy;
use crate::api::validate::{Cidr, SsmAccessDesired};

use super::{Tags, is_owned_by};

pub mod agent_policy;

/// The port AWS's SSH listens on.
pub const SSH_PORT: i32 = 22;
/// Appended to the description of the rules a split creates.
pub const SPLIT_NOTE: &str = "(split by frugal)";
/// Security group rule descriptions are at most 255 characters.
const MAX_DESCRIPTION: usize = 255;
const WORLD_V4: &str = "0.0.0.0/0";
const WORLD_V6: &str = "::/0";

/// Where an ingress rule lets traffic in from: exactly one per security group rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    Ipv4(String),
    Ipv6(String),
    PrefixList(String),
    Group(String),
}

impl Source {
    /// True for 0.0.0.0/0 and ::/0, the only sources this area ever changes.
    pub fn is_world(&self) -> bool {
        matches!(self, Source::Ipv4(c) if c == WORLD_V4) || matches!(self, Source::Ipv6(c) if c == WORLD_V6)
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Ipv4(c) | Source::Ipv6(c) | Source::PrefixList(c) | Source::Group(c) => f.write_str(c),
        }
    }
}

/// One ingress security group rule (one protocol, port range and source).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressRule {
    pub rule_id: String,
    /// tcp, udp, icmp, icmpv6, -1 (all) or a protocol number.
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    pub source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl IngressRule {
    pub fn is_tcp(&self) -> bool {
        self.protocol.eq_ignore_ascii_case("tcp") || self.protocol == "6"
    }

    pub fn is_all_traffic(&self) -> bool {
        self.protocol == "-1"
    }

    pub fn reaches_ssh(&self) -> bool {
        self.is_all_traffic() || (self.is_tcp() && self.from_port <= SSH_PORT && SSH_PORT <= self.to_port)
    }

    /// `tcp 0-65535`, `tcp 22`, `all traffic`.
    pub fn permission(&self) -> String {
        if self.is_all_traffic() {
            "all traffic".to_string()
        } else {
            format!("{} {}", self.protocol, PortRange { from: self.from_port, to: self.to_port })
        }
    }
}

/// An inclusive port range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct PortRange {
    pub from: i32,
    pub to: i32,
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.from == self.to { write!(f, "{}", self.from) } else { write!(f, "{}-{}", self.from, self.to) }
    }
}

/// A security group and its ingress rules.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub tags: Tags,
    pub ingress: Vec<IngressRule>,
}

/// An EC2 instance (any state).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Instance {
    pub id: String,
    /// pending, running, stopping, stopped, shutting-down, terminated.
    pub state: String,
    pub key_name: Option<String>,
    pub security_group_ids: Vec<String>,
    /// The ARN of the associated instance profile.
    pub profile_arn: Option<String>,
    pub tags: Tags,
}

/// An instance profile, as far as SSM cares.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InstanceProfile {
    pub name: String,
    pub arn: String,
    /// A role of the profile has AmazonSSMManagedInstanceCore (or an equivalent policy).
    pub grants_ssm: bool,
    pub tags: Tags,
}

/// What decides whether a role can serve as the DHMC role.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoleFacts {
    pub exists: bool,
    /// Its trust policy lets ssm.amazonaws.com assume it.
    pub trusted_by_ssm: bool,
    /// Its policies grant what the SSM Agent needs (AmazonSSMManagedEC2InstanceDefaultPolicy or
    /// an equivalent).
    pub grants_ssm: bool,
}

/// SSM's PingStatus of a node that is connected.
pub const PING_ONLINE: &str = "Online";

#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyPair {
    pub id: String,
    pub name: String,
}

/// Everything this area needs to decide. Built only when every source was read in full.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SsmAccessInventory {
    /// Every security group of the region (the planner applies the scope).
    pub security_groups: Vec<SecurityGroup>,
    /// Every instance of the region.
    pub instances: Vec<Instance>,
    /// Instance profiles by name: those of the instances, and the configured one if it exists.
    pub profiles: BTreeMap<String, InstanceProfile>,
    /// Instances SSM knows, with their PingStatus.
    pub ssm_instances: BTreeMap<String, String>,
    /// Tags of the IAM role named like the configured profile, when that role exists (read
    /// only when the spec may create the profile).
    pub configured_role: Option<Tags>,
    /// The DHMC setting (`[path/]name` or an ARN); None when unset (`$None`).
    pub default_host_management_role: Option<String>,
    /// What IAM says of the role the spec wants DHMC to use (read only when DHMC is enabled).
    pub dhmc_role_facts: Option<RoleFacts>,
    pub key_pairs: Vec<KeyPair>,
    /// Key names in any version of any launch template.
    pub launch_template_key_names: BTreeSet<String>,
}

/// A change to AWS.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum SsmAccessChange {
    /// Revoke exactly one ingress rule, by id (tcp 22 from the world, or all traffic from the
    /// world with revokeAllTrafficFromWorld).
    RevokeIngress { group_id: String, rule: IngressRule },
    /// Authorize the parts of a wide tcp rule other than 22 (those not already present), then
    /// revoke the wide rule.
    SplitIngress { group_id: String, rule: IngressRule, remainder: Vec<PortRange>, authorize: Vec<PortRange>, description: String },
    /// Create the role (AmazonSSMManagedInstanceCore) and instance profile of this name.
    CreateInstanceProfile { name: String },
    /// Associate the configured profile with an instance that has none.
    AttachInstanceProfile { instance_id: String, profile_name: String },
    /// Set the DHMC role.
    SetDefaultHostManagementRole { role: String, previous: Option<String> },
    /// Delete a key pair no instance and no launch template uses.
    DeleteKeyPair { key_pair_id: String, key_name: String },
}

/// One EC2 call a security group change makes, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleCall<'a> {
    Authorize { group_id: &'a str, protocol: &'a str, ranges: &'a [PortRange], source: &'a Source, description: &'a str },
    Revoke { group_id: &'a str, rule_id: &'a str },
}

impl SsmAccessChange {
    /// The EC2 calls of a security group change, in the order they must be made: a split
    /// authorizes before it revokes, and revokes only after the authorization succeeded.
    pub fn rule_calls(&self) -> Vec<RuleCall<'_>> {
        match self {
            SsmAccessChange::RevokeIngress { group_id, rule } => vec![RuleCall::Revoke { group_id, rule_id: &rule.rule_id }],
            SsmAccessChange::SplitIngress { group_id, rule, authorize, description, .. } => {
                let mut calls = Vec::new();
                if !authorize.is_empty() {
                    calls.push(RuleCall::Authorize {
                        group_id,
                        protocol: &rule.protocol,
                        ranges: authorize,
                        source: &rule.source,
                        description,
                    });
                }
                calls.push(RuleCall::Revoke { group_id, rule_id: &rule.rule_id });
                calls
            }
            _ => Vec::new(),
        }
    }

    /// The permission before and after, for `frugal plan` and Events.
    pub fn describe(&self) -> String {
        match self {
            SsmAccessChange::RevokeIngress { group_id, rule } => {
                format!("{group_id} ingress {} from {}  →  (revoked) [{}]", rule.permission(), rule.source, rule.rule_id)
            }
            SsmAccessChange::SplitIngress { group_id, rule, remainder, .. } => {
                let after: Vec<String> = remainder.iter().map(|r| format!("{} {r}", rule.protocol)).collect();
                let after = if after.is_empty() { "(revoked)".to_string() } else { after.join(", ") };
                format!("{group_id} ingress {} from {}  →  {after} from {} [{}]", rule.permission(), rule.source, rule.source, rule.rule_id)
            }
            SsmAccessChange::CreateInstanceProfile { name } => {
                format!("create role and instance profile {name} (AmazonSSMManagedInstanceCore)")
            }
            SsmAccessChange::AttachInstanceProfile { instance_id, profile_name } => {
                format!("attach instance profile {profile_name} to {instance_id}")
            }
            SsmAccessChange::SetDefaultHostManagementRole { role, previous } => {
                format!("set SSM default host management role {} → {role}", previous.as_deref().unwrap_or("(none)"))
            }
            SsmAccessChange::DeleteKeyPair { key_pair_id, key_name } => format!("delete unused key pair {key_name} ({key_pair_id})"),
        }
    }

    pub fn is_security_group_change(&self) -> bool {
        matches!(self, SsmAccessChange::RevokeIngress { .. } | SsmAccessChange::SplitIngress { .. })
    }
}

/// What kind of risky permission a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FindingKind {
    /// A tcp range containing 22 from 0.0.0.0/0 or ::/0.
    WorldSsh,
    /// Protocol -1 from 0.0.0.0/0 or ::/0.
    AllTrafficFromWorld,
    /// tcp 22 from a CIDR outside allowedSshCidrs (reported only; set when the list is not empty).
    SshFromUnlistedCidr,
    /// A tcp range from the world split around 22 (now or by an earlier run): every other
    /// port of it stays open to the world, so the split is no "secured" (reported only).
    WideRangeFromWorld,
}

/// What the plan does about a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Fix {
    Revoke,
    Split,
    /// Reported only (the spec does not allow the change, or the source is not the world).
    Report,
}

/// A risky permission of an in-scope group.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionFinding {
    pub group_id: String,
    pub kind: FindingKind,
    pub fix: Fix,
    pub rule: IngressRule,
}

/// How SSM sees an in-scope instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum InstanceState {
    /// SSM lists it with PingStatus Online.
    Managed,
    /// SSM lists it, but not Online (ConnectionLost: stopped or agent gone; Inactive).
    NotOnline,
    NoProfile,
    ProfileWithoutSsmPolicy,
    /// Its profile grants SSM, but SSM does not list it (no agent, no network path).
    NotReporting,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceReport {
    pub instance_id: String,
    pub state: InstanceState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The configured profile is (or is being) attached.
    pub configured_profile: bool,
    /// SSM's PingStatus, when SSM lists the instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ping_status: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyPairReport {
    pub key_pair_id: String,
    pub key_name: String,
    pub used_by_instance: bool,
    pub used_by_launch_template: bool,
}

impl KeyPairReport {
    pub fn is_unused(&self) -> bool {
        !self.used_by_instance && !self.used_by_launch_template
    }
}

/// The plan for one policy's ssmAccess section.
#[derive(Clone, Debug, PartialEq)]
pub struct SsmAccessPlan {
    pub drift: Vec<SsmAccessChange>,
    /// The changes to execute: the drift in Enforce mode, nothing in Audit mode.
    pub actions: Vec<SsmAccessChange>,
    pub groups_in_scope: u32,
    /// Risky permissions of the groups in scope (sorted by group, rule).
    pub permissions: Vec<PermissionFinding>,
    /// In-scope instances that are not pending, shutting down or terminated (sorted).
    pub instances: Vec<InstanceReport>,
    /// The configured profile exists (or is created by this plan).
    pub configured_profile_exists: Option<bool>,
    /// attachWhenMissing is set but the profile neither exists nor may be created.
    pub configured_profile_missing: bool,
    /// Why the configured profile is not created although the spec allows it: a role of that
    /// name exists that this policy does not own (it is never modified).
    pub configured_profile_conflict: Option<String>,
    /// The DHMC role currently set.
    pub default_host_management_role: Option<String>,
    /// Why the DHMC role the spec names cannot work (missing, not trusted by SSM, without the
    /// SSM policy): SSM would accept the setting and manage nothing.
    pub default_host_management_problem: Option<String>,
    pub key_pairs: Vec<KeyPairReport>,
}

impl SsmAccessPlan {
    pub fn count(&self, kind: FindingKind) -> u32 {
        self.permissions.iter().filter(|p| p.kind == kind).count() as u32
    }

    pub fn instances_in(&self, state: InstanceState) -> u32 {
        self.instances.iter().filter(|i| i.state == state).count() as u32
    }

    pub fn unused_key_pairs(&self) -> impl Iterator<Item = &KeyPairReport> {
        self.key_pairs.iter().filter(|k| k.is_unused())
    }
}

/// The remainder of a tcp range once port 22 is taken out (empty parts skipped).
pub fn remainder(from: i32, to: i32) -> Vec<PortRange> {
    let mut parts = Vec::new();
    if from < SSH_PORT {
        parts.push(PortRange { from, to: SSH_PORT - 1 });
    }
    if to > SSH_PORT {
        parts.push(PortRange { from: SSH_PORT + 1, to });
    }
    parts
}

fn split_description(original: Option<&str>) -> String {
    let base = original.unwrap_or("").trim();
    if base.is_empty() {
        return SPLIT_NOTE.to_string();
    }
    let room = MAX_DESCRIPTION - SPLIT_NOTE.len() - 1;
    let mut cut = base.len().min(room);
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{} {SPLIT_NOTE}", &base[..cut])
}

/// `[path/]name` of a role given as a name or an ARN; None for AWS's `$None`.
pub fn role_path_name(value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() || value == "$None" {
        return None;
    }
    Some(match value.split_once(":role/") {
        Some((_, rest)) if value.starts_with("arn:") => rest.to_string(),
        _ => value.trim_start_matches('/').to_string(),
    })
}

/// The name of an instance profile from its ARN (`…:instance-profile/[path/]name`).
pub fn profile_name_from_arn(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Plans the ssmAccess area; `enforce` false is Audit mode.
/// `policy` names the policy whose tags mark the role and profile it may finish creating.
pub fn plan(policy: &str, desired: &SsmAccessDesired, inventory: &SsmAccessInventory, enforce: bool) -> SsmAccessPlan {
    let mut groups: Vec<&SecurityGroup> =
        inventory.security_groups.iter().filter(|g| desired.security_groups.includes(&g.id, &g.tags)).collect();
    groups.sort_by(|a, b| a.id.cmp(&b.id));
    let in_scope: BTreeSet<&str> = groups.iter().map(|g| g.id.as_str()).collect();

    let mut drift = Vec::new();
    let mut permissions = Vec::new();
    for group in &groups {
        plan_group(desired, group, &mut drift, &mut permissions);
    }

    // Instances.
    let profile = desired.instance_profile.as_ref();
    let configured_exists = profile.map(|p| inventory.profiles.contains_key(&p.name));
    let may_create = matches!((profile, configured_exists), (Some(p), Some(false)) if p.create);
    // A same-named role someone else owns would get the SSM policy attached: never touch it.
    let configured_profile_conflict = match (profile, &inventory.configured_role) {
        (Some(p), Some(tags)) if may_create && !is_owned_by(tags, policy) => Some(format!(
            "role {} exists and is not managed by this policy (no tags frugal.dev/managed-by=frugal, frugal.dev/policy={policy}): \
             neither it nor instance profile {} is created or changed; rename instanceProfile.name or create the profile yourself",
            p.name, p.name
        )),
        _ => None,
    };
    let will_create = may_create && configured_profile_conflict.is_none();
    let can_attach = profile.is_some_and(|p| p.attach_when_missing) && (configured_exists == Some(true) || will_create);
    let mut instance_changes = Vec::new();
    let mut instances = Vec::new();
    let mut live: Vec<&Instance> = inventory
        .instances
        .iter()
        .filter(|i| !matches!(i.state.as_str(), "pending" | "shutting-down" | "terminated"))
        .filter(|i| match &desired.instances {
            Some(scope) => scope.includes(&i.id, &i.tags),
            None => desired.security_groups.is_whole_region() || i.security_group_ids.iter().any(|g| in_scope.contains(g.as_str())),
        })
        .collect();
    live.sort_by(|a, b| a.id.cmp(&b.id));
    for instance in live {
        let profile_name = instance.profile_arn.as_deref().map(profile_name_from_arn);
        let ping_status = inventory.ssm_instances.get(&instance.id);
        let state = if let Some(ping) = ping_status {
            if ping == PING_ONLINE { InstanceState::Managed } else { InstanceState::NotOnline }
        } else {
            match profile_name {
                None => InstanceState::NoProfile,
                Some(name) if inventory.profiles.get(name).is_some_and(|p| p.grants_ssm) => InstanceState::NotReporting,
                Some(_) => InstanceState::ProfileWithoutSsmPolicy,
            }
        };
        let attach = profile_name.is_none() && can_attach;
        if attach && let Some(p) = profile {
            instance_changes
                .push(SsmAccessChange::AttachInstanceProfile { instance_id: instance.id.clone(), profile_name: p.name.clone() });
        }
        let configured_profile = attach || (profile.is_some_and(|p| profile_name == Some(p.name.as_str())));
        instances.push(InstanceReport {
            instance_id: instance.id.clone(),
            state,
            profile: profile_name.map(str::to_string),
            configured_profile,
            ping_status: ping_status.cloned(),
        });
    }
    if will_create && let Some(p) = profile {
        drift.push(SsmAccessChange::CreateInstanceProfile { name: p.name.clone() });
    }
    drift.extend(instance_changes);

    // Default Host Management Configuration: set only when it differs; never reset.
    let current_dhmc = inventory.default_host_management_role.as_deref().and_then(role_path_name);
    if let Some(role) = &desired.default_host_management_role
        && role_path_name(role) != current_dhmc
    {
        drift.push(SsmAccessChange::SetDefaultHostManagementRole { role: role.clone(), previous: current_dhmc.clone() });
    }
    let default_host_management_problem = desired.default_host_management_role.as_deref().and_then(|role| {
        let facts = inventory.dhmc_role_facts.unwrap_or_default();
        let why = if !facts.exists {
            "does not exist"
        } else if !facts.trusted_by_ssm {
            "does not trust ssm.amazonaws.com"
        } else if !facts.grants_ssm {
            "has no AmazonSSMManagedEC2InstanceDefaultPolicy (or equivalent) policy"
        } else {
            return None;
        };
        Some(format!("Default Host Management role {role} {why}: SSM manages no instance through it"))
    });

    // Key pairs: used by any instance (any state) or any launch template version.
    let instance_keys: BTreeSet<&str> = inventory.instances.iter().filter_map(|i| i.key_name.as_deref()).collect();
    let mut key_pairs: Vec<KeyPairReport> = inventory
        .key_pairs
        .iter()
        .map(|k| KeyPairReport {
            key_pair_id: k.id.clone(),
            key_name: k.name.clone(),
            used_by_instance: instance_keys.contains(k.name.as_str()),
            used_by_launch_template: inventory.launch_template_key_names.contains(&k.name),
        })
        .collect();
    key_pairs.sort_by(|a, b| a.key_name.cmp(&b.key_name).then_with(|| a.key_pair_id.cmp(&b.key_pair_id)));
    if desired.key_pairs == KeyPairPolicy::DeleteUnused {
        drift.extend(
            key_pairs
                .iter()
                .filter(|k| k.is_unused())
                .map(|k| SsmAccessChange::DeleteKeyPair { key_pair_id: k.key_pair_id.clone(), key_name: k.key_name.clone() }),
        );
    }

    let actions = if enforce { drift.clone() } else { Vec::new() };
    SsmAccessPlan {
        drift,
        actions,
        groups_in_scope: groups.len() as u32,
        permissions,
        instances,
        configured_profile_exists: configured_exists.map(|e| e || will_create),
        configured_profile_missing: profile.is_some_and(|p| p.attach_when_missing)
            && configured_exists == Some(false)
            && !will_create
            && configured_profile_conflict.is_none(),
        configured_profile_conflict,
        default_host_management_role: current_dhmc,
        default_host_management_problem,
        key_pairs,
    }
}

/// Findings and changes of one group. Only rules whose source is the world are changed.
fn plan_group(desired: &SsmAccessDesired, group: &SecurityGroup, drift: &mut Vec<SsmAccessChange>, findings: &mut Vec<PermissionFinding>) {
    let mut rules: Vec<&IngressRule> = group.ingress.iter().collect();
    rules.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
    // Exact tcp ranges present (or authorized earlier in this plan) per source: AWS refuses
    // to authorize a duplicate, and a crash between authorize and revoke leaves them behind.
    let mut present: BTreeSet<(&Source, PortRange)> =
        rules.iter().filter(|r| r.is_tcp()).map(|r| (&r.source, PortRange { from: r.from_port, to: r.to_port })).collect();
    for rule in rules {
        let finding = |kind, fix| PermissionFinding { group_id: group.id.clone(), kind, fix, rule: rule.clone() };
        if !rule.reaches_ssh() {
            if rule.source.is_world() && rule.is_tcp() && rule.description.as_deref().is_some_and(|d| d.contains(SPLIT_NOTE)) {
                findings.push(finding(FindingKind::WideRangeFromWorld, Fix::Report));
            }
            continue;
        }
        if !rule.source.is_world() {
            if rule.is_tcp() && !desired.allowed_ssh_cidrs.is_empty() && !is_allowed(&rule.source, &desired.allowed_ssh_cidrs) {
                findings.push(finding(FindingKind::SshFromUnlistedCidr, Fix::Report));
            }
            continue;
        }
        if rule.is_all_traffic() {
            if desired.revoke_all_traffic_from_world {
                drift.push(SsmAccessChange::RevokeIngress { group_id: group.id.clone(), rule: rule.clone() });
                findings.push(finding(FindingKind::AllTrafficFromWorld, Fix::Revoke));
            } else {
                findings.push(finding(FindingKind::AllTrafficFromWorld, Fix::Report));
            }
            continue;
        }
        if !desired.revoke_world_ssh {
            findings.push(finding(FindingKind::WorldSsh, Fix::Report));
            continue;
        }
        let parts = remainder(rule.from_port, rule.to_port);
        if parts.is_empty() {
            drift.push(SsmAccessChange::RevokeIngress { group_id: group.id.clone(), rule: rule.clone() });
            findings.push(finding(FindingKind::WorldSsh, Fix::Revoke));
            continue;
        }
        let authorize: Vec<PortRange> = parts.iter().copied().filter(|p| present.insert((&rule.source, *p))).collect();
        drift.push(SsmAccessChange::SplitIngress {
            group_id: group.id.clone(),
            rule: rule.clone(),
            remainder: parts,
            authorize,
            description: split_description(rule.description.as_deref()),
        });
        findings.push(finding(FindingKind::WorldSsh, Fix::Split));
        findings.push(finding(FindingKind::WideRangeFromWorld, Fix::Report));
    }
}

/// True when the rule's CIDR lies within one of the allowed CIDRs (prefix lists and groups
/// are never judged).
fn is_allowed(source: &Source, allowed: &[Cidr]) -> bool {
    match source {
        Source::Ipv4(c) | Source::Ipv6(c) => Cidr::parse(c).is_ok_and(|cidr| allowed.iter().any(|a| a.contains(&cidr))),
        Source::PrefixList(_) | Source::Group(_) => true,
    }
}

#[cfg(test)]
mod tests;
