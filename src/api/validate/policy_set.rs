//! Validation of a `CostPolicySet`: the accounts, regions and labels, and the template
//! exactly as a CostPolicy's spec (`validate`), with the errors' fields named in the set.

use std::collections::{BTreeMap, BTreeSet};

use super::{Errors, InvalidSpec, check_tags, is_region, is_role_arn, validate};
use crate::api::{AwsTarget, CostPolicySetSpec, OrganizationAccounts, PolicyTemplate};

/// Label keys under this prefix are the set's own (`frugal.dev/set`, `/account`, `/region`).
const RESERVED_LABEL_PREFIX: &str = "frugal.dev/";
/// Kubernetes' limit on a label value and on the name part of a label key.
const MAX_LABEL_LEN: usize = 63;

/// A set that passed validation: every policy it generates passes `validate` too.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidatedSet {
    pub name: String,
    /// The accounts: listed, or read from Organizations.
    pub accounts: SetAccounts,
    pub role_name: String,
    pub external_id: Option<String>,
    /// The regions, in the spec's order (the first one holds the global areas).
    pub regions: Vec<String>,
    pub template: PolicyTemplate,
    pub labels: BTreeMap<String, String>,
}

/// Where a set's accounts come from.
#[derive(Clone, Debug, PartialEq)]
pub enum SetAccounts {
    /// The account ids, in the spec's order, each once.
    Ids(Vec<String>),
    /// The accounts of organizational units, read from AWS Organizations.
    Organization(OrganizationScope),
}

/// The organizational units a set covers and how Organizations is read.
#[derive(Clone, Debug, PartialEq)]
pub struct OrganizationScope {
    /// The role that reads Organizations.
    pub role_arn: String,
    /// spec.accounts.externalId, passed when assuming `role_arn` too.
    pub external_id: Option<String>,
    /// Organizational unit or root ids, each once.
    pub units: Vec<String>,
    pub include_nested_units: bool,
    pub exclude_account_ids: BTreeSet<String>,
    /// An account carrying every one of these tags is left out (empty: no tag is read).
    pub exclude_account_tags: BTreeMap<String, String>,
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
    let accounts = check_accounts(spec, &mut errors);
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

fn check_accounts(spec: &CostPolicySetSpec, errors: &mut Errors) -> SetAccounts {
    let accounts = &spec.accounts;
    match (&accounts.organization, accounts.ids.is_empty()) {
        (Some(organization), true) => SetAccounts::Organization(check_organization(organization, accounts.external_id.clone(), errors)),
        (Some(organization), false) => {
            errors.push("spec.accounts", "give exactly one of ids or organization");
            SetAccounts::Organization(check_organization(organization, accounts.external_id.clone(), errors))
        }
        (None, true) => {
            errors.push("spec.accounts", "give exactly one of ids or organization");
            SetAccounts::Ids(Vec::new())
        }
        (None, false) => {
            let ids = unique("spec.accounts.ids", &accounts.ids, errors);
            check_account_ids("spec.accounts.ids", &accounts.ids, errors);
            SetAccounts::Ids(ids)
        }
    }
}

fn check_account_ids(field: &str, ids: &[String], errors: &mut Errors) {
    for (index, id) in ids.iter().enumerate() {
        if id.len() != 12 || !id.chars().all(|c| c.is_ascii_digit()) {
            errors.push(format!("{field}[{index}]"), format!("{id:?} is not a 12-digit AWS account id"));
        }
    }
}

fn check_organization(organization: &OrganizationAccounts, external_id: Option<String>, errors: &mut Errors) -> OrganizationScope {
    const FIELD: &str = "spec.accounts.organization";
    if !is_role_arn(&organization.role_arn) {
        errors.push(
            format!("{FIELD}.roleArn"),
            format!("{:?} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)", organization.role_arn),
        );
    }
    let units_field = format!("{FIELD}.organizationalUnitIds");
    let units = unique(&units_field, &organization.organizational_unit_ids, errors);
    if units.is_empty() {
        errors.push(&units_field, "at least one organizational unit or root id is required");
    }
    for (index, unit) in organization.organizational_unit_ids.iter().enumerate() {
        if !is_unit_id(unit) {
            errors.push(
                format!("{units_field}[{index}]"),
                format!("{unit:?} is not an organizational unit id (ou-xxxx-yyyyyyyy) or a root id (r-xxxx)"),
            );
        }
    }
    let exclude = organization.exclude.clone().unwrap_or_default();
    let ids_field = format!("{FIELD}.exclude.accountIds");
    unique(&ids_field, &exclude.account_ids, errors);
    check_account_ids(&ids_field, &exclude.account_ids, errors);
    check_tags(&format!("{FIELD}.exclude.accountTags"), &exclude.account_tags, errors);
    OrganizationScope {
        role_arn: organization.role_arn.clone(),
        external_id,
        units,
        include_nested_units: organization.include_nested_units,
        exclude_account_ids: exclude.account_ids.into_iter().collect(),
        exclude_account_tags: exclude.account_tags,
    }
}

/// An organizational unit id (ou-, the root's 4 to 32 characters, -, 8 to 32 more) or a
/// root id (r-, 4 to 32), lowercase letters and digits: AWS Organizations' id patterns.
fn is_unit_id(id: &str) -> bool {
    let part =
        |text: &str, min: usize| (min..=32).contains(&text.len()) && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if let Some(rest) = id.strip_prefix("ou-") {
        rest.split_once('-').is_some_and(|(root, unit)| part(root, 4) && part(unit, 8))
    } else {
        id.strip_prefix("r-").is_some_and(|root| part(root, 4))
    }
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
        assert_eq!(set.accounts, SetAccounts::Ids(vec!["111122223333".into(), "444455556666".into()]));
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
        assert_eq!(fields(&spec), ["spec.accounts", "spec.regions"]);
    }

    fn organization_spec() -> CostPolicySetSpec {
        let mut spec = set_spec();
        spec.accounts.ids.clear();
        spec.accounts.external_id = Some("ext-1".into());
        spec.accounts.organization = Some(
            serde_yaml::from_str(
                "roleArn: arn:aws:iam::999999999999:role/frugal-org-reader
organizationalUnitIds: [ou-ab12-prod0001, r-ab12]
includeNestedUnits: true
exclude: {accountIds: ['123456789012'], accountTags: {frugal.dev/skip: 'true'}}
",
            )
            .expect("parses"),
        );
        spec
    }

    #[test]
    fn an_organization_set_keeps_its_units_excludes_and_the_external_id() {
        let set = validate_set("prod", &organization_spec()).expect("valid");
        let SetAccounts::Organization(scope) = set.accounts else { panic!("an organization: {:?}", set.accounts) };
        assert_eq!(scope.role_arn, "arn:aws:iam::999999999999:role/frugal-org-reader");
        assert_eq!(
            (scope.units.as_slice(), scope.include_nested_units),
            (["ou-ab12-prod0001".to_string(), "r-ab12".to_string()].as_slice(), true)
        );
        assert_eq!(scope.external_id.as_deref(), Some("ext-1"), "the org role is assumed with it too");
        assert!(scope.exclude_account_ids.contains("123456789012"));
        assert_eq!(scope.exclude_account_tags.get("frugal.dev/skip").map(String::as_str), Some("true"));
    }

    #[test]
    fn exactly_one_of_ids_and_organization() {
        let mut both = organization_spec();
        both.accounts.ids = vec!["111122223333".into()];
        let error = validate_set("prod", &both).expect_err("both");
        assert_eq!(error.first_field(), "spec.accounts");
        assert!(error.to_string().contains("give exactly one of ids or organization"), "{error}");
    }

    #[test]
    fn organization_fields_name_the_bad_entry() {
        let mut spec = organization_spec();
        let organization = spec.accounts.organization.as_mut().expect("organization");
        organization.role_arn = "arn:aws:iam::999:user/x".into();
        organization.organizational_unit_ids = vec!["ou-ab12-prod0001".into(), "ou-AB12-x".into(), "r-".into(), "ou-ab12-prod0001".into()];
        organization.exclude = Some(crate::api::AccountExclusions {
            account_ids: vec!["12".into()],
            account_tags: BTreeMap::from([(String::new(), "v".into())]),
        });
        assert_eq!(
            fields(&spec),
            [
                "spec.accounts.organization.roleArn",
                "spec.accounts.organization.organizationalUnitIds[3]",
                "spec.accounts.organization.organizationalUnitIds[1]",
                "spec.accounts.organization.organizationalUnitIds[2]",
                "spec.accounts.organization.exclude.accountIds[0]",
                "spec.accounts.organization.exclude.accountTags[\"\"]",
            ]
        );
        let mut empty = organization_spec();
        empty.accounts.organization.as_mut().expect("organization").organizational_unit_ids.clear();
        assert_eq!(fields(&empty), ["spec.accounts.organization.organizationalUnitIds"]);
    }

    #[test]
    fn unit_ids_follow_organizations_patterns() {
        for (id, ok) in [
            ("ou-ab12-prod0001", true),
            ("ou-abcd-12345678", true),
            ("r-ab12", true),
            ("r-abc", false),
            ("ou-ab12-short", false),
            ("ou-ab12", false),
            ("OU-ab12-prod0001", false),
            ("ou-ab12-prod_001", false),
        ] {
            assert_eq!(is_unit_id(id), ok, "{id}");
        }
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
