//! The areas of a CostPolicy and the one name each has in every layer: the spec's key is
//! also its status key, metric label, CLI heading, conflict label and `--areas` value.

use std::fmt;

/// One area of the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AreaName {
    GatewayEndpoints,
    SnapshotRetention,
    SsmAccess,
    Backup,
    AccessKeys,
    RightSizing,
    CloudWatch,
}

impl AreaName {
    /// Every area, in the order of the spec's sections.
    pub const ALL: [AreaName; 7] = [
        AreaName::GatewayEndpoints,
        AreaName::SnapshotRetention,
        AreaName::SsmAccess,
        AreaName::Backup,
        AreaName::AccessKeys,
        AreaName::RightSizing,
        AreaName::CloudWatch,
    ];

    /// The spec's key (and the status's): `snapshotRetention`.
    pub const fn key(self) -> &'static str {
        match self {
            AreaName::GatewayEndpoints => "gatewayEndpoints",
            AreaName::SnapshotRetention => "snapshotRetention",
            AreaName::SsmAccess => "ssmAccess",
            AreaName::Backup => "backup",
            AreaName::AccessKeys => "accessKeys",
            AreaName::RightSizing => "rightSizing",
            AreaName::CloudWatch => "cloudWatch",
        }
    }

    /// The area's condition type. These predate the one-name rule and are kept: clients
    /// (Argo CD, alerts, `kubectl wait`) match on them.
    pub const fn condition_type(self) -> &'static str {
        match self {
            AreaName::GatewayEndpoints => "GatewayEndpointsInSync",
            AreaName::SnapshotRetention => "SnapshotsInSync",
            AreaName::SsmAccess => "SsmAccessInSync",
            AreaName::Backup => "BackupInSync",
            AreaName::AccessKeys => "AccessKeysInSync",
            AreaName::RightSizing => "RightSizingInSync",
            AreaName::CloudWatch => "CloudWatchInSync",
        }
    }

    /// The area whose key is `key`.
    pub fn from_key(key: &str) -> Option<AreaName> {
        AreaName::ALL.into_iter().find(|area| area.key() == key)
    }
}

impl fmt::Display for AreaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::AreaName;
    use crate::api::CostPolicySpec;

    /// The key is the spec's own: a renamed section or a new area without a name fails here.
    #[test]
    fn every_area_key_is_a_section_of_the_spec_and_back() {
        let schema = serde_json::to_value(schemars::schema_for!(CostPolicySpec)).expect("schema");
        let sections: Vec<&str> = schema["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .map(String::as_str)
            .filter(|k| !["mode", "aws", "resyncInterval", "deletionPolicy", "pricing"].contains(k))
            .collect();
        let mut keys: Vec<&str> = AreaName::ALL.iter().map(|a| a.key()).collect();
        keys.sort_unstable();
        let mut sections = sections;
        sections.sort_unstable();
        assert_eq!(keys, sections);
        for area in AreaName::ALL {
            assert_eq!(AreaName::from_key(area.key()), Some(area));
        }
    }

    /// The API server's own rule (CEL) that a spec enables an area names every area, and says
    /// what validation says: a new area left out would be refused at admission.
    #[test]
    fn the_at_least_one_area_rule_names_every_area() {
        let schema = serde_json::to_value(schemars::schema_for!(CostPolicySpec)).expect("schema");
        let rules = schema["x-kubernetes-validations"].as_array().expect("CEL rules");
        let rule = rules.iter().find(|r| r["message"].as_str().is_some_and(|m| m.starts_with("at least one area"))).expect("the rule");
        let checks: Vec<String> = AreaName::ALL.iter().map(|a| format!("has(self.{})", a.key())).collect();
        assert_eq!(rule["rule"], checks.join(" || "));
        let spec: CostPolicySpec = serde_yaml::from_str("aws: {region: eu-west-1}").expect("spec parses");
        let errors = crate::api::validate::validate("p", &spec).expect_err("no area");
        assert_eq!(errors.0[0].message, rule["message"].as_str().unwrap_or_default());
    }
}
