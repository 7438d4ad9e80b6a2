//! Validation of the `ssmAccess` section.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::{Errors, check_tags};
use crate::api::{KeyPairPolicy, SsmAccessSpec};

/// The role DHMC uses when the spec names none (the one Quick Setup creates).
pub const DEFAULT_DHMC_ROLE: &str = "service-role/AWSSystemsManagerDefaultEC2InstanceManagementRole";
/// As the CRD schema's maxItems.
const MAX_SECURITY_GROUP_IDS: usize = 500;

/// The validated ssmAccess section.
#[derive(Clone, Debug, PartialEq)]
pub struct SsmAccessDesired {
    pub revoke_world_ssh: bool,
    pub revoke_all_traffic_from_world: bool,
    /// Canonical CIDRs, IPv4 and IPv6.
    pub allowed_ssh_cidrs: Vec<Cidr>,
    pub security_groups: SecurityGroupScope,
    /// Instances in scope by their own tags or ids; None: through their security groups.
    pub instances: Option<InstanceScope>,
    pub instance_profile: Option<InstanceProfileDesired>,
    /// The DHMC role to set ([path/]name), when enabled.
    pub default_host_management_role: Option<String>,
    pub key_pairs: KeyPairPolicy,
}

/// Instances in scope by their own tags or ids.
#[derive(Clone, Debug, PartialEq)]
pub enum InstanceScope {
    Ids(BTreeSet<String>),
    /// Instances carrying all these tags.
    Tags(BTreeMap<String, String>),
}

impl InstanceScope {
    pub fn includes(&self, instance_id: &str, tags: &BTreeMap<String, String>) -> bool {
        match self {
            InstanceScope::Ids(ids) => ids.contains(instance_id),
            InstanceScope::Tags(want) => crate::api::carries_all(tags, want),
        }
    }
}

/// Which security groups (and through them, instances) are in scope.
#[derive(Clone, Debug, PartialEq)]
pub enum SecurityGroupScope {
    Ids(BTreeSet<String>),
    /// Groups carrying all these tags; empty: every group of the region.
    Tags(BTreeMap<String, String>),
}

impl SecurityGroupScope {
    pub fn includes(&self, group_id: &str, tags: &BTreeMap<String, String>) -> bool {
        match self {
            SecurityGroupScope::Ids(ids) => ids.contains(group_id),
            SecurityGroupScope::Tags(want) => crate::api::carries_all(tags, want),
        }
    }

    /// True when every group (and every instance) of the region is in scope.
    pub fn is_whole_region(&self) -> bool {
        matches!(self, SecurityGroupScope::Tags(t) if t.is_empty())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct InstanceProfileDesired {
    pub name: String,
    pub attach_when_missing: bool,
    pub create: bool,
}

/// An IPv4 or IPv6 network, with no bits set beyond its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr(IpNet);

impl Cidr {
    /// Parses `a.b.c.d/n` or `x::y/n`; the address must have no bits beyond the prefix.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = text.split_once('/').ok_or_else(|| format!("{text:?} is not a CIDR such as 10.0.0.0/8 or 2001:db8::/32"))?;
        let addr: IpAddr = addr.parse().map_err(|_| format!("{text:?} does not start with an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let net = prefix
            .parse::<u8>()
            .ok()
            .and_then(|p| IpNet::new(addr, p).ok())
            .ok_or_else(|| format!("{text:?} has a prefix length outside 0..{max}"))?;
        if net.network() != addr {
            return Err(format!("{text:?} has host bits set; the network is {}", net.trunc()));
        }
        Ok(Cidr(net))
    }

    /// True when `other` lies within this network.
    pub fn contains(&self, other: &Cidr) -> bool {
        self.0.contains(&other.0)
    }

    pub fn is_world(&self) -> bool {
        self.0.prefix_len() == 0
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

pub(super) fn check_ssm_access(spec: &SsmAccessSpec, errors: &mut Errors) -> SsmAccessDesired {
    const FIELD: &str = "spec.ssmAccess";
    let mut allowed = Vec::new();
    for (i, text) in spec.allowed_ssh_cidrs.iter().enumerate() {
        let field = format!("{FIELD}.allowedSshCidrs[{i}]");
        match Cidr::parse(text) {
            Ok(cidr) if cidr.is_world() => errors.push(field, format!("{text:?} is the whole internet, which this area closes SSH to")),
            Ok(cidr) if allowed.contains(&cidr) => errors.push(field, format!("{text:?} is listed twice")),
            Ok(cidr) => allowed.push(cidr),
            Err(message) => errors.push(field, message),
        }
    }
    let security_groups = match (&spec.security_group_ids, &spec.security_group_selector) {
        (Some(_), Some(_)) => {
            errors.push(format!("{FIELD}.securityGroupIds"), "set ssmAccess.securityGroupIds or ssmAccess.securityGroupSelector, not both");
            SecurityGroupScope::Ids(BTreeSet::new())
        }
        (Some(ids), None) => {
            if ids.is_empty() {
                errors.push(format!("{FIELD}.securityGroupIds"), "must not be empty when set; omit it to select by tags");
            }
            if ids.len() > MAX_SECURITY_GROUP_IDS {
                errors.push(
                    format!("{FIELD}.securityGroupIds"),
                    format!("{} ids; at most {MAX_SECURITY_GROUP_IDS} (use securityGroupSelector)", ids.len()),
                );
            }
            let mut seen = BTreeSet::new();
            for (i, id) in ids.iter().enumerate() {
                let hex = id.strip_prefix("sg-").unwrap_or("");
                if !((hex.len() == 8 || hex.len() == 17) && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))) {
                    errors.push(
                        format!("{FIELD}.securityGroupIds[{i}]"),
                        format!("{id:?} is not a security group id (sg- and 8 or 17 hex digits)"),
                    );
                }
                if !seen.insert(id.clone()) {
                    errors.push(format!("{FIELD}.securityGroupIds[{i}]"), format!("{id:?} is listed twice"));
                }
            }
            SecurityGroupScope::Ids(seen)
        }
        (None, selector) => {
            let tags = selector.as_ref().map(|s| s.tags.clone()).unwrap_or_default();
            check_tags(&format!("{FIELD}.securityGroupSelector.tags"), &tags, errors);
            SecurityGroupScope::Tags(tags)
        }
    };
    let instances = spec.instance_selector.as_ref().map(|selector| match (&selector.tags, &selector.instance_ids) {
        (Some(_), Some(_)) => {
            errors.push(format!("{FIELD}.instanceSelector"), "set instanceSelector.tags or instanceSelector.instanceIds, not both");
            InstanceScope::Ids(BTreeSet::new())
        }
        (None, Some(ids)) => {
            if ids.is_empty() || ids.len() > MAX_SECURITY_GROUP_IDS {
                errors.push(format!("{FIELD}.instanceSelector.instanceIds"), format!("{} ids; 1 to {MAX_SECURITY_GROUP_IDS}", ids.len()));
            }
            let mut seen = BTreeSet::new();
            for (i, id) in ids.iter().enumerate() {
                let hex = id.strip_prefix("i-").unwrap_or("");
                if !((hex.len() == 8 || hex.len() == 17) && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))) {
                    errors.push(
                        format!("{FIELD}.instanceSelector.instanceIds[{i}]"),
                        format!("{id:?} is not an instance id (i- and 8 or 17 hex digits)"),
                    );
                } else if !seen.insert(id.clone()) {
                    errors.push(format!("{FIELD}.instanceSelector.instanceIds[{i}]"), format!("{id:?} is listed twice"));
                }
            }
            InstanceScope::Ids(seen)
        }
        (tags, None) => {
            let tags = tags.clone().unwrap_or_default();
            if tags.is_empty() {
                errors.push(
                    format!("{FIELD}.instanceSelector"),
                    "name tags or instanceIds; omit instanceSelector to follow the security groups",
                );
            }
            check_tags(&format!("{FIELD}.instanceSelector.tags"), &tags, errors);
            InstanceScope::Tags(tags)
        }
    });
    let instance_profile = spec.instance_profile.as_ref().map(|p| {
        if !is_iam_name(&p.name, 128) {
            errors.push(
                format!("{FIELD}.instanceProfile.name"),
                format!("{:?} is not an IAM name (1 to 128 of letters, digits and +=,.@_-)", p.name),
            );
        }
        if p.create && p.name.len() > 64 {
            errors.push(format!("{FIELD}.instanceProfile.name"), "with create, the name is also the role's: at most 64 characters");
        }
        InstanceProfileDesired { name: p.name.clone(), attach_when_missing: p.attach_when_missing, create: p.create }
    });
    let default_host_management_role = spec.default_host_management.as_ref().filter(|d| d.enabled).map(|d| {
        let role = d.role_name.clone().unwrap_or_else(|| DEFAULT_DHMC_ROLE.to_string());
        let (path, name) = role.rsplit_once('/').unwrap_or(("", &role));
        if !is_iam_name(name, 64) || !path.split('/').all(|p| path.is_empty() || is_iam_name(p, 64)) {
            errors.push(format!("{FIELD}.defaultHostManagement.roleName"), format!("{role:?} is not an IAM role name ([path/]name)"));
        }
        role
    });
    SsmAccessDesired {
        revoke_world_ssh: spec.revoke_world_ssh,
        revoke_all_traffic_from_world: spec.revoke_all_traffic_from_world,
        allowed_ssh_cidrs: allowed,
        security_groups,
        instances,
        instance_profile,
        default_host_management_role,
        key_pairs: spec.key_pairs,
    }
}

pub(super) fn is_iam_name(name: &str, max: usize) -> bool {
    !name.is_empty() && name.len() <= max && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::super::validate;
    use super::*;
    use crate::api::CostPolicySpec;

    fn spec(section: &str) -> CostPolicySpec {
        serde_yaml::from_str(&format!("aws: {{region: eu-west-1}}\nssmAccess: {{{section}}}\n")).expect("fixture parses")
    }

    fn fields(section: &str) -> Vec<String> {
        validate("p", &spec(section)).expect_err("must be invalid").0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn an_empty_section_is_a_whole_region_report() {
        let ssm = validate("p", &spec("")).expect("valid").ssm_access.expect("section");
        assert!(ssm.security_groups.is_whole_region());
        assert!(!ssm.revoke_world_ssh && !ssm.revoke_all_traffic_from_world);
        assert_eq!(ssm.key_pairs, KeyPairPolicy::Report);
        assert_eq!(ssm.default_host_management_role, None);
    }

    #[test]
    fn allowed_cidrs_must_be_canonical_and_not_the_world() {
        assert!(validate("p", &spec("allowedSshCidrs: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7/32']")).is_ok());
        assert_eq!(fields("allowedSshCidrs: ['10.0.0.1/8']"), ["spec.ssmAccess.allowedSshCidrs[0]"]);
        assert_eq!(fields("allowedSshCidrs: ['10.0.0.0/8', '0.0.0.0/0']"), ["spec.ssmAccess.allowedSshCidrs[1]"]);
        assert_eq!(fields("allowedSshCidrs: ['::/0']"), ["spec.ssmAccess.allowedSshCidrs[0]"]);
        assert_eq!(
            fields("allowedSshCidrs: ['10.0.0.0/33', 'office']"),
            ["spec.ssmAccess.allowedSshCidrs[0]", "spec.ssmAccess.allowedSshCidrs[1]"]
        );
        assert_eq!(fields("allowedSshCidrs: ['10.0.0.0/8', '10.0.0.0/8']"), ["spec.ssmAccess.allowedSshCidrs[1]"]);
    }

    #[test]
    fn an_instance_selector_takes_tags_or_ids_and_names_the_field() {
        let ssm = validate("p", &spec("instanceSelector: {tags: {env: prod}}")).expect("valid").ssm_access.expect("section");
        assert_eq!(ssm.instances, Some(InstanceScope::Tags(BTreeMap::from([("env".into(), "prod".into())]))));
        assert_eq!(validate("p", &spec("")).expect("valid").ssm_access.expect("section").instances, None, "absent: follow the groups");
        assert_eq!(fields("instanceSelector: {tags: {a: b}, instanceIds: [i-12345678]}"), ["spec.ssmAccess.instanceSelector"]);
        assert_eq!(
            fields("instanceSelector: {instanceIds: [i-12345678, sg-12345678]}"),
            ["spec.ssmAccess.instanceSelector.instanceIds[1]"]
        );
        assert_eq!(fields("instanceSelector: {}"), ["spec.ssmAccess.instanceSelector"]);
    }

    #[test]
    fn group_ids_and_selector_conflict() {
        assert_eq!(fields("securityGroupIds: [sg-12345678], securityGroupSelector: {tags: {a: b}}"), ["spec.ssmAccess.securityGroupIds"]);
        assert_eq!(fields("securityGroupIds: [sg-12345678, vpc-12345678]"), ["spec.ssmAccess.securityGroupIds[1]"]);
    }

    #[test]
    fn profile_and_dhmc_names_are_iam_names() {
        assert_eq!(fields("instanceProfile: {name: 'a b'}"), ["spec.ssmAccess.instanceProfile.name"]);
        assert_eq!(fields("defaultHostManagement: {enabled: true, roleName: 'x//y z'}"), ["spec.ssmAccess.defaultHostManagement.roleName"]);
        let ssm = validate("p", &spec("defaultHostManagement: {enabled: true}")).expect("valid").ssm_access.expect("section");
        assert_eq!(ssm.default_host_management_role.as_deref(), Some(DEFAULT_DHMC_ROLE));
    }

    #[test]
    fn cidr_containment() {
        let net = Cidr::parse("10.0.0.0/8").expect("cidr");
        assert!(net.contains(&Cidr::parse("10.1.2.0/24").expect("cidr")));
        assert!(!net.contains(&Cidr::parse("11.0.0.0/24").expect("cidr")));
        assert!(!net.contains(&Cidr::parse("::/0").expect("cidr")));
        assert!(Cidr::parse("::/0").expect("cidr").is_world());
    }
}
