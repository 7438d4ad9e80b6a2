//! `frugal iam-policy -f set.yaml`: a CostPolicySet's generated policies stand in for the
//! policies of a file (their roles are the targets' role in every account), and a set over
//! AWS Organizations adds the policy of its reader role, which is another role in another
//! account: it goes to the notes, one compact document per reader role.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::api::CostPolicySet;
use crate::api::manifest;
use crate::api::validate::{SetAccounts, ValidatedPolicy, validate, validate_set};
use crate::set::desired::desired;

/// The account that stands for an organization's accounts, which only a read of
/// Organizations knows: the scopes name any account (*) instead.
const ANY_MEMBER: &str = "000000000000";

/// What the sets of some files need.
#[derive(Debug, Default)]
pub struct Sets {
    /// Every policy the sets generate (an organization's: one per region, for any account).
    pub policies: Vec<ValidatedPolicy>,
    /// Whether some policies stand for an organization's accounts (their scope is any account).
    pub any_account: bool,
    pub notes: Vec<String>,
}

/// True when `text` holds a CostPolicySet.
pub fn is_set_file(text: &str) -> bool {
    text.lines().any(|line| line.trim_end() == "kind: CostPolicySet")
}

/// The files of `files` that hold CostPolicySets, and the others.
pub fn split(files: &[PathBuf]) -> (Vec<(PathBuf, String)>, Vec<PathBuf>) {
    let mut sets = Vec::new();
    let mut others = Vec::new();
    for file in files {
        // stdin and unreadable files stay with the policy loader, which reports them.
        match std::fs::read_to_string(file) {
            Ok(text) if file != Path::new("-") && is_set_file(&text) => sets.push((file.clone(), text)),
            _ => others.push(file.clone()),
        }
    }
    (sets, others)
}

/// The generated policies and notes of the sets of `files` (path and text).
pub fn load(files: &[(PathBuf, String)]) -> Result<Sets, String> {
    let mut sets = Sets::default();
    let mut readers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, text) in files {
        let manifests = manifest::read::<CostPolicySet>(text).map_err(|e| format!("{}: {e}", path.display()))?;
        for manifest in manifests {
            let name = manifest.object.metadata.name.clone().unwrap_or_default();
            let set = manifest
                .check(validate_set(&name, &manifest.object.spec))
                .map_err(|e| format!("{}: CostPolicySet {name:?} is invalid: {e}", path.display()))?;
            let accounts = match &set.accounts {
                SetAccounts::Ids(ids) => ids.clone(),
                SetAccounts::Organization(scope) => {
                    sets.any_account = true;
                    let tags = !scope.exclude_account_tags.is_empty();
                    readers.entry(scope.role_arn.clone()).or_default().push(format!("{name}{}", if tags { " (tags)" } else { "" }));
                    vec![ANY_MEMBER.to_string()]
                }
            };
            sets.notes.push(format!(
                "set {name:?}: this document is for role {} in each of its accounts; the operator's own identity needs \
                 sts:AssumeRole on them",
                set.role_name
            ));
            for generated in desired(&set, &accounts) {
                let policy =
                    validate(&generated.name, &generated.spec).map_err(|e| format!("{}: {}: {e}", path.display(), generated.name))?;
                sets.policies.push(policy);
            }
        }
    }
    for (role, users) in readers {
        let tags = users.iter().any(|u| u.ends_with(" (tags)"));
        let names: Vec<&str> = users.iter().map(|u| u.trim_end_matches(" (tags)")).collect();
        sets.notes.push(format!(
            "{} reads AWS Organizations through {role}: that role (in the management or a delegated administrator account) \
             needs this policy, and the operator's own identity sts:AssumeRole on it: {}",
            names.iter().map(|n| format!("set {n:?}")).collect::<Vec<_>>().join(", "),
            reader_policy(tags)
        ));
    }
    Ok(sets)
}

/// The reader role's policy: the units' accounts and child units, and account tags when a
/// set excludes by them. Resource `*`: the organization's id is only known to AWS.
pub fn reader_policy(tags: bool) -> Value {
    let mut actions = vec!["organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent"];
    if tags {
        actions.push("organizations:ListTagsForResource");
    }
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "OrganizationsReadUnits", "Effect": "Allow", "Action": actions, "Resource": "*"}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG_SET: &str = "apiVersion: frugal.dev/v1alpha1
kind: CostPolicySet
metadata: {name: prod-org}
spec:
  accounts:
    organization:
      roleArn: arn:aws:iam::999999999999:role/frugal-org-reader
      organizationalUnitIds: [ou-ab12-prod0001]
      exclude: {accountTags: {frugal.dev/skip: 'true'}}
    roleName: frugal-target
  regions: [eu-west-1, us-east-1]
  template: {gatewayEndpoints: {services: [s3]}, accessKeys: {}}
";

    #[test]
    fn an_organization_set_names_its_reader_roles_policy_and_generates_for_any_account() {
        let sets = load(&[(PathBuf::from("set.yaml"), ORG_SET.to_string())]).expect("loads");
        assert!(sets.any_account);
        assert_eq!(sets.policies.len(), 2, "one per region");
        let reader = sets.notes.iter().find(|n| n.contains("frugal-org-reader")).expect("a note on the reader role");
        for action in
            ["organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent", "organizations:ListTagsForResource"]
        {
            assert!(reader.contains(action), "{action}: {reader}");
        }
        assert!(sets.notes.iter().any(|n| n.contains("role frugal-target")), "{:?}", sets.notes);
    }

    #[test]
    fn tags_are_read_only_when_a_set_excludes_by_them() {
        let actions = |tags: bool| reader_policy(tags)["Statement"][0]["Action"].as_array().map_or(0, Vec::len);
        assert_eq!((actions(false), actions(true)), (2, 3));
    }

    #[test]
    fn an_invalid_set_is_an_error_naming_the_field() {
        let bad = ORG_SET.replace("ou-ab12-prod0001", "ou-x");
        let error = load(&[(PathBuf::from("set.yaml"), bad)]).expect_err("invalid");
        assert!(error.contains("organizationalUnitIds"), "{error}");
    }
}
