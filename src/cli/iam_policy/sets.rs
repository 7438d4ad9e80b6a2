//! `frugal iam-policy -f set.yaml`: a CostPolicySet's generated policies stand in for the
//! policies of a file (their roles are the targets' role in every account), and a set over
//! AWS Organizations adds the policy of its reader role, which is another role in another
//! account: it goes to the notes, one compact document per reader role.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::api::validate::{SetAccounts, ValidatedPolicy, validate};
use crate::cli::set_run::LoadedSet;
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

/// The generated policies and notes of `sets` (read by `oneshot::load_documents`, as
/// `frugal plan` reads them).
pub fn expand(sets: &[LoadedSet]) -> Result<Sets, String> {
    let mut expanded = Sets::default();
    let mut readers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for loaded in sets {
        let name = loaded.name();
        let set = loaded
            .validate()
            .map_err(|e| format!("CostPolicySet {name:?} is invalid:\n{}", super::super::oneshot::located(&loaded.path, &e.0)))?;
        let accounts = match &set.accounts {
            SetAccounts::Ids(ids) => ids.clone(),
            SetAccounts::Organization(scope) => {
                expanded.any_account = true;
                let tags = !scope.exclude_account_tags.is_empty();
                readers.entry(scope.role_arn.clone()).or_default().push(format!("{name}{}", if tags { " (tags)" } else { "" }));
                vec![ANY_MEMBER.to_string()]
            }
        };
        expanded.notes.push(format!(
            "set {name:?}: this document is for role {} in each of its accounts; the operator's own identity needs \
             sts:AssumeRole on them",
            set.role_name
        ));
        for generated in desired(&set, &accounts) {
            let policy = validate(&generated.name, &generated.spec).map_err(|e| format!("{}: {}: {e}", loaded.path, generated.name))?;
            expanded.policies.push(policy);
        }
    }
    for (role, users) in readers {
        let tags = users.iter().any(|u| u.ends_with(" (tags)"));
        let names: Vec<&str> = users.iter().map(|u| u.trim_end_matches(" (tags)")).collect();
        expanded.notes.push(format!(
            "{} reads AWS Organizations through {role}: that role (in the management or a delegated administrator account) \
             needs this policy, and the operator's own identity sts:AssumeRole on it: {}",
            names.iter().map(|n| format!("set {n:?}")).collect::<Vec<_>>().join(", "),
            reader_policy(tags)
        ));
    }
    Ok(expanded)
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

    /// The sets of one file, read as `frugal plan` reads them.
    fn load(text: &str) -> Result<Sets, String> {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), text).expect("written");
        let documents = crate::cli::oneshot::load_documents(&[file.path().to_path_buf()]).map_err(|e| e.to_string())?;
        expand(&documents.sets)
    }

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
        let sets = load(ORG_SET).expect("loads");
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
    fn a_file_mixing_a_policy_and_a_set_is_read_as_frugal_plan_reads_it() {
        let policy = "apiVersion: frugal.dev/v1alpha1
kind: CostPolicy
metadata: {name: hand-written}
spec:
  aws: {region: eu-west-1, roleArn: 'arn:aws:iam::111122223333:role/frugal'}
  snapshotRetention: {maxAgeDays: 30}
";
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), format!("{policy}---\n{ORG_SET}")).expect("written");
        let rendered = crate::cli::iam_policy::render(&[], &[file.path().to_path_buf()]).expect("both documents read");
        assert!(rendered.notes.iter().any(|n| n.contains("policy \"hand-written\"")), "{:?}", rendered.notes);
        assert!(rendered.notes.iter().any(|n| n.contains("frugal-org-reader")), "{:?}", rendered.notes);
        let actions = rendered.document.to_string();
        assert!(actions.contains("SnapshotRetentionRead") && actions.contains("GatewayEndpointsRead"), "{actions}");
    }

    #[test]
    fn tags_are_read_only_when_a_set_excludes_by_them() {
        let actions = |tags: bool| reader_policy(tags)["Statement"][0]["Action"].as_array().map_or(0, Vec::len);
        assert_eq!((actions(false), actions(true)), (2, 3));
    }

    #[test]
    fn an_invalid_set_is_an_error_naming_the_field() {
        let bad = ORG_SET.replace("ou-ab12-prod0001", "ou-x");
        let error = load(&bad).expect_err("invalid");
        assert!(error.contains("organizationalUnitIds"), "{error}");
    }
}
