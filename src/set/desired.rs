//! The CostPolicies a set generates: one per account × region, the template with `aws` filled
//! in, global areas (accessKeys) in each account's first region only.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::naming::{policy_name, set_label_value};
use crate::api::names::{LABEL_ACCOUNT, LABEL_REGION, LABEL_SET};
use crate::api::validate::{ValidatedSet, role_arn};
use crate::api::{AwsTarget, CostPolicy, CostPolicySet, CostPolicySpec};
use kube::Resource;

/// One policy the set wants to exist.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    pub name: String,
    pub account: String,
    pub region: String,
    pub labels: BTreeMap<String, String>,
    pub spec: CostPolicySpec,
}

/// Every policy of the set over `accounts` (resolved by `accounts::resolve`), in their
/// order, then regions in the spec's order. A region whose policy would have no area left
/// (a template of global areas only) gets none.
pub fn desired(set: &ValidatedSet, accounts: &[String]) -> Vec<Generated> {
    let mut generated = Vec::with_capacity(accounts.len() * set.regions.len());
    for account in accounts {
        for (index, region) in set.regions.iter().enumerate() {
            let aws = AwsTarget {
                region: region.clone(),
                role_arn: Some(role_arn(region, account, &set.role_name)),
                external_id: set.external_id.clone(),
            };
            let mut spec = set.template.to_spec(aws);
            // IAM is global: one policy per account acts on its keys (safety rule 13).
            if index > 0 {
                spec.access_keys = None;
            }
            if !spec.has_area() {
                continue;
            }
            let mut labels = set.labels.clone();
            labels.insert(LABEL_SET.to_string(), set_label_value(&set.name));
            labels.insert(LABEL_ACCOUNT.to_string(), account.clone());
            labels.insert(LABEL_REGION.to_string(), region.clone());
            generated.push(Generated {
                name: policy_name(&set.name, account, region),
                account: account.clone(),
                region: region.clone(),
                labels,
                spec,
            });
        }
    }
    generated
}

impl Generated {
    /// The object to apply: only the fields the set manages (name, labels, the owner and the
    /// spec), so server-side apply leaves every other field to its own manager.
    pub fn object(&self, owner: OwnerReference) -> CostPolicy {
        CostPolicy {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                labels: Some(self.labels.clone()),
                owner_references: Some(vec![owner]),
                ..ObjectMeta::default()
            },
            spec: self.spec.clone(),
            status: None,
        }
    }

    /// True when `existing` already carries everything this policy applies: nothing to write.
    pub fn is_applied(&self, existing: &CostPolicy, owner: &OwnerReference) -> bool {
        let labels = existing.metadata.labels.as_ref();
        existing.spec == self.spec
            && self.labels.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
            && existing.metadata.owner_references.iter().flatten().any(|o| o == owner)
    }
}

/// The ownerReference every generated policy carries: the set controls it, and foreground
/// deletion of the set waits for it (blockOwnerDeletion). None without a uid (an object that
/// did not come from the API server).
pub fn owner_reference(set: &CostPolicySet) -> Option<OwnerReference> {
    let mut owner = set.controller_owner_ref(&())?;
    owner.block_owner_deletion = Some(true);
    Some(owner)
}

/// True when `policy` is controlled by the set of this uid (its generated policy).
pub fn is_controlled_by(policy: &CostPolicy, set_uid: &str) -> bool {
    policy.metadata.owner_references.iter().flatten().any(|o| o.controller == Some(true) && o.uid == set_uid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CostPolicySetSpec;
    use crate::api::validate::{validate, validate_set};

    /// The policies of a set of listed ids.
    fn desired_of(yaml: &str) -> Vec<Generated> {
        let spec: CostPolicySetSpec = serde_yaml::from_str(yaml).expect("fixture parses");
        let set = validate_set("prod", &spec).expect("valid set");
        let crate::api::validate::SetAccounts::Ids(ids) = &set.accounts else { panic!("ids") };
        desired(&set, ids)
    }

    const TWO_BY_TWO: &str = "accounts: {ids: ['111122223333', '444455556666'], roleName: frugal-target, externalId: ext-1}
regions: [ap-northeast-2, us-east-1]
template: {mode: Audit, gatewayEndpoints: {services: [s3]}, accessKeys: {}}
labels: {team: platform}
";

    #[test]
    fn one_policy_per_account_and_region_named_labelled_and_reaching_the_account() {
        let generated = desired_of(TWO_BY_TWO);
        let names: Vec<&str> = generated.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "prod-111122223333-ap-northeast-2",
                "prod-111122223333-us-east-1",
                "prod-444455556666-ap-northeast-2",
                "prod-444455556666-us-east-1"
            ]
        );
        let second = &generated[3];
        assert_eq!(
            second.spec.aws,
            AwsTarget {
                region: "us-east-1".into(),
                role_arn: Some("arn:aws:iam::444455556666:role/frugal-target".into()),
                external_id: Some("ext-1".into())
            }
        );
        let labels: Vec<(&str, &str)> = second.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            labels,
            [("frugal.dev/account", "444455556666"), ("frugal.dev/region", "us-east-1"), ("frugal.dev/set", "prod"), ("team", "platform")]
        );
        for g in &generated {
            validate(&g.name, &g.spec).unwrap_or_else(|e| panic!("{}: {e}", g.name));
        }
    }

    #[test]
    fn access_keys_only_in_each_accounts_first_region() {
        let generated = desired_of(TWO_BY_TWO);
        let with_keys: Vec<(&str, &str)> =
            generated.iter().filter(|g| g.spec.access_keys.is_some()).map(|g| (g.account.as_str(), g.region.as_str())).collect();
        assert_eq!(with_keys, [("111122223333", "ap-northeast-2"), ("444455556666", "ap-northeast-2")]);
        assert!(generated.iter().all(|g| g.spec.gateway_endpoints.is_some()), "regional areas everywhere");
    }

    #[test]
    fn a_region_left_without_any_area_gets_no_policy() {
        let generated = desired_of(
            "accounts: {ids: ['111122223333'], roleName: r}\nregions: [eu-west-1, us-east-1, us-west-2]\ntemplate: {accessKeys: {}}\n",
        );
        let names: Vec<&str> = generated.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["prod-111122223333-eu-west-1"]);
    }

    #[test]
    fn the_applied_object_carries_only_the_managed_fields_and_the_controlling_owner() {
        let generated = desired_of(TWO_BY_TWO);
        let owner = OwnerReference {
            api_version: "frugal.dev/v1alpha1".into(),
            kind: "CostPolicySet".into(),
            name: "prod".into(),
            uid: "uid-1".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        };
        let object = generated[0].object(owner.clone());
        let json = serde_json::to_value(&object).expect("serializes");
        assert_eq!(json["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(json["metadata"]["ownerReferences"][0]["blockOwnerDeletion"], true);
        assert!(json.get("status").is_none_or(serde_json::Value::is_null), "{json}");
        assert!(is_controlled_by(&object, "uid-1") && !is_controlled_by(&object, "uid-2"));
        assert!(generated[0].is_applied(&object, &owner));
        let mut edited = object.clone();
        edited.spec.mode = crate::api::Mode::Enforce;
        assert!(!generated[0].is_applied(&edited, &owner), "a hand edit is written back");
    }
}
