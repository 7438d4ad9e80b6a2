//! Validation of a `CostPolicySet`: the accounts, regions and labels, and the template
//! exactly as a CostPolicy's spec (`validate`), with the errors' fields named in the set.

use std::collections::{BTreeMap, BTreeSet};

use super::{Errors, InvalidSpec, is_region, validate};
use crate::api::{AwsTarget, CostPolicySetSpec, PolicyTemplate};

/// Label keys under this prefix are the set's own (`frugal.dev/set`, `/account`, `/region`).
const RESERVED_LABEL_PREFIX: &str = "frugal.dev/";
/// Kubernetes' limit on a label value and on the name part of a label key.
const MAX_LABEL_LEN: usize = 63;

/// A set that passed validation: every policy it generates passes `validate` too.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidatedSet {
    pub name: String,
    /// The account ids, in the spec's order, each once.
    pub accounts: Vec<String>,
    pub role_name: String,
    pub external_id: Option<String>,
    /// The regions, in the spec's order (the first one holds the global areas).
    pub regions: Vec<String>,
    pub template: PolicyTemplate,
    pub labels: BTreeMap<String, String>,
}

/// The partition of a region's ARNs.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The role the operator assumes in `account` for a policy in `region`.
pub fn role_arn(region: &str, account: &str, role_name: &str) -> String {
    format!("arn:{}:iam::{account}:role/{role_name}", partition(region))
}

/// Validates a set's name and spec.
pub fn validate_set(name: &str, spec: &CostPolicySetSpec) -> Result<ValidatedSet, InvalidSpec> {
    let mut errors = Errors::default();
    if name.is_empty() {
        errors.push("metadata.name", "must not be empty");
    }
    let accounts = unique("spec.accounts.ids", &spec.accounts.ids, &mut errors);
    if accounts.is_empty() {
        errors.push("spec.accounts.ids", "at least one account id is required");
    }
    for (index, id) in spec.accounts.ids.iter().enumerate() {
        if id.len() != 12 || !id.chars().all(|c| c.is_ascii_digit()) {
            errors.push(format!("spec.accounts.ids[{index}]"), format!("{id:?} is not a 12-digit AWS account id"));
        }
    }
    let regions = unique("spec.regions", &spec.regions, &mut errors);
    if regions.is_empty() {
        errors.push("spec.regions", "at least one region is required");
    }
    for (index, region) in spec.regions.iter().enumerate() {
        if !is_region(region) {
            errors.push(format!("spec.regions[{index}]"), format!("{region:?} is not an AWS region name such as eu-west-1"));
        }
    }
    check_labels(&spec.labels, &mut errors);
    check_template(spec, &mut errors);
    errors.into_result(ValidatedSet {
        name: name.to_string(),
        accounts,
        role_name: spec.accounts.role_name.clone(),
        external_id: spec.accounts.external_id.clone(),
        regions,
        template: spec.template.clone(),
        labels: spec.labels.clone(),
    })
}

/// The items in order, each once; a repeated one is an error (the API server says the same
/// of a list of type set).
fn unique(field: &str, items: &[String], errors: &mut Errors) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut kept = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        if seen.insert(item.as_str()) {
            kept.push(item.clone());
        } else {
            errors.push(format!("{field}[{index}]"), format!("{item:?} is listed twice"));
        }
    }
    kept
}

/// The template through the CostPolicy validator, with the role and external id a generated
/// policy gets: errors about `spec.aws` are the accounts' fields, the others the template's.
fn check_template(spec: &CostPolicySetSpec, errors: &mut Errors) {
    let region = spec.regions.iter().find(|r| is_region(r)).map_or("us-east-1", String::as_str);
    let aws = AwsTarget {
        region: region.to_string(),
        role_arn: Some(role_arn(region, "000000000000", &spec.accounts.role_name)),
        external_id: spec.accounts.external_id.clone(),
    };
    let Err(InvalidSpec(found)) = validate("template", &spec.template.to_spec(aws)) else { return };
    for error in found {
        let field = match error.field.as_str() {
            "spec.aws.roleArn" => "spec.accounts.roleName".to_string(),
            "spec.aws.externalId" => "spec.accounts.externalId".to_string(),
            "spec" => "spec.template".to_string(),
            other => other.replacen("spec.", "spec.template.", 1),
        };
        let message = if field == "spec.accounts.roleName" {
            format!("{:?} is not an IAM role name (letters, digits, +=,.@_- and / for a path)", spec.accounts.role_name)
        } else {
            error.message.replace("spec.", "spec.template.")
        };
        errors.push(field, message);
    }
}

fn check_labels(labels: &BTreeMap<String, String>, errors: &mut Errors) {
    for (key, value) in labels {
        let field = format!("spec.labels[{key:?}]");
        if key.starts_with(RESERVED_LABEL_PREFIX) {
            errors.push(&field, "keys under frugal.dev/ are set by the operator");
        }
        let (prefix, name) = key.rsplit_once('/').map_or((None, key.as_str()), |(p, n)| (Some(p), n));
        let prefix_ok = prefix.is_none_or(|p| !p.is_empty() && p.len() <= 253 && p.split('.').all(is_dns_label));
        if !prefix_ok || !is_label_text(name) || name.is_empty() {
            errors.push(&field, "not a label key: an optional DNS prefix and '/', then 1 to 63 letters, digits, '-', '_' or '.'");
        }
        if !value.is_empty() && !is_label_text(value) {
            errors.push(
                &field,
                format!("{value:?} is not a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric"),
            );
        }
    }
}

/// A label value or a key's name part: at most 63 characters, alphanumeric at both ends.
fn is_label_text(text: &str) -> bool {
    text.len() <= MAX_LABEL_LEN
        && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && text.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && text.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
}

fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_LABEL_LEN
        && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn set_spec() -> CostPolicySetSpec {
        serde_yaml::from_str(
            "accounts: {ids: ['111122223333', '444455556666'], roleName: frugal-target}
regions: [ap-northeast-2, us-east-1]
template:
  mode: Audit
  gatewayEndpoints: {services: [s3]}
  accessKeys: {}
",
        )
        .expect("fixture parses")
    }

    fn fields(spec: &CostPolicySetSpec) -> Vec<String> {
        validate_set("prod", spec).expect_err("must be invalid").0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_valid_set_keeps_the_order_of_accounts_and_regions() {
        let set = validate_set("prod", &set_spec()).expect("valid");
        assert_eq!(set.accounts, ["111122223333", "444455556666"]);
        assert_eq!(set.regions, ["ap-northeast-2", "us-east-1"]);
    }

    #[test]
    fn accounts_and_regions_name_the_bad_entry() {
        let mut spec = set_spec();
        spec.accounts.ids = vec!["111122223333".into(), "12345".into(), "111122223333".into()];
        spec.regions = vec!["us-east-1".into(), "Europe".into()];
        assert_eq!(fields(&spec), ["spec.accounts.ids[2]", "spec.accounts.ids[1]", "spec.regions[1]"]);
        let mut spec = set_spec();
        spec.accounts.ids.clear();
        spec.regions.clear();
        assert_eq!(fields(&spec), ["spec.accounts.ids", "spec.regions"]);
    }

    #[test]
    fn the_template_is_validated_like_a_policy_spec() {
        let mut spec = set_spec();
        spec.template.resync_interval = "1s".into();
        assert_eq!(fields(&spec), ["spec.template.resyncInterval"]);
        let mut spec = set_spec();
        spec.template.gateway_endpoints = None;
        spec.template.access_keys = None;
        assert_eq!(fields(&spec), ["spec.template"]);
        let mut spec = set_spec();
        spec.template.mode = crate::api::Mode::Enforce;
        spec.template.snapshot_retention = Some(serde_yaml::from_str("maxAgeDays: 30").expect("parses"));
        let error = validate_set("prod", &spec).expect_err("invalid");
        assert_eq!(error.first_field(), "spec.template.snapshotRetention.maxDeletionsPerRun", "{error}");
    }

    #[test]
    fn role_name_and_external_id_are_the_accounts_fields() {
        let mut spec = set_spec();
        spec.accounts.role_name = "bad role".into();
        spec.accounts.external_id = Some("x".into());
        assert_eq!(fields(&spec), ["spec.accounts.roleName", "spec.accounts.externalId"]);
    }

    #[test]
    fn labels_must_be_kubernetes_labels_outside_frugal_dev() {
        for (key, value, ok) in [
            ("team", "platform", true),
            ("example.com/tier", "gold", true),
            ("team", "", true),
            ("frugal.dev/set", "x", false),
            ("team", "has space", false),
            ("Bad_Prefix/x", "v", false),
            ("team", &"v".repeat(64), false),
        ] {
            let mut spec = set_spec();
            spec.labels = BTreeMap::from([(key.to_string(), value.to_string())]);
            assert_eq!(validate_set("prod", &spec).is_ok(), ok, "{key}={value}");
        }
    }

    #[test]
    fn role_arns_follow_the_regions_partition() {
        assert_eq!(role_arn("eu-west-1", "111122223333", "r"), "arn:aws:iam::111122223333:role/r");
        assert_eq!(role_arn("cn-north-1", "111122223333", "r"), "arn:aws-cn:iam::111122223333:role/r");
        assert_eq!(role_arn("us-gov-west-1", "111122223333", "ops/r"), "arn:aws-us-gov:iam::111122223333:role/ops/r");
    }
}
