//! The `CostPolicySet` API: one object that fans a policy template out over accounts and
//! regions, one generated `CostPolicy` per account × region.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::policy::{
    AccessKeysSpec, AwsTarget, BackupSpec, CloudWatchSpec, CostPolicySpec, DeletionPolicy, GatewayEndpointsSpec, Mode, PricingSpec,
    RightSizingSpec, SnapshotRetentionSpec, SsmAccessSpec, default_resync_interval,
};

/// Generates one CostPolicy per account and region from one template.
// The derive repeats `type_` once per printer column, which the lint mistakes for a duplicate.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "frugal.dev",
    version = "v1alpha1",
    kind = "CostPolicySet",
    plural = "costpolicysets",
    shortname = "cpolset",
    category = "frugal",
    status = "CostPolicySetStatus",
    doc = "CostPolicySet keeps one generated CostPolicy per account and region of a fleet, from one template.",
    printcolumn(name = "Accounts", type_ = "integer", json_path = ".status.accounts"),
    printcolumn(name = "Regions", type_ = "integer", json_path = ".status.regions"),
    printcolumn(name = "Policies", type_ = "integer", json_path = ".status.policies"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Findings", type_ = "integer", json_path = ".status.findings"),
    printcolumn(
        name = "Waste/mo",
        type_ = "string",
        json_path = ".status.monthlyWasteUsd",
        description = "Estimated monthly waste in USD over the generated policies"
    ),
    printcolumn(
        name = "Savings/mo",
        type_ = "string",
        json_path = ".status.monthlySavingsUsd",
        description = "Estimated monthly savings in USD over the generated policies (upper bound)"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct CostPolicySetSpec {
    /// The AWS accounts to govern and the role the operator assumes in each.
    pub accounts: AccountsSpec,

    /// The regions every account is governed in; one generated policy per account and region.
    /// Global areas (accessKeys) go to the first region only.
    #[schemars(length(min = 1, max = 40))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    #[schemars(inner(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"), length(max = 32)))]
    pub regions: Vec<String>,

    /// The spec of every generated policy, without `aws` (the set fills it in per account and
    /// region). Validated exactly like a CostPolicy's spec.
    pub template: PolicyTemplate,

    /// Labels copied onto every generated policy (e.g. to shard policies with
    /// --policy-selector). Keys under frugal.dev/ are the set's own and cannot be given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 32))]
    pub labels: BTreeMap<String, String>,
}

/// Which accounts, and how each is reached.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.ids) != has(self.organization)", "message": "spec.accounts: give exactly one of ids or organization"}
]))]
pub struct AccountsSpec {
    /// The 12-digit ids of the accounts to govern. An id removed from the list has its
    /// generated policies deleted (each one's deletionPolicy decides what happens in AWS).
    /// Exactly one of ids and organization.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1, max = 1000))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    #[schemars(inner(regex(pattern = r"^[0-9]{12}$")))]
    pub ids: Vec<String>,

    /// The accounts of AWS Organizations units, read every resync and on every change of the
    /// set: an account that leaves the units (moved, closed, suspended, excluded) has its
    /// generated policies deleted. A failed read deletes nothing. Exactly one of ids and
    /// organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationAccounts>,

    /// The IAM role the operator assumes in every account: arn:<partition>:iam::<id>:role/<roleName>,
    /// the partition that of the region (aws, aws-cn for cn-*, aws-us-gov for us-gov-*). A
    /// path may precede the name, e.g. ops/frugal-target.
    #[schemars(regex(pattern = r"^[\w+=,.@/-]{1,512}$"))]
    pub role_name: String,

    /// External ID passed to sts:AssumeRole, when the roles' trust policies require one (also
    /// when assuming organization.roleArn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 1224))]
    pub external_id: Option<String>,
}

/// The accounts of organizational units, read from AWS Organizations.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationAccounts {
    /// The role the operator assumes to read Organizations, in the management account or a
    /// delegated administrator account (organizations:ListAccountsForParent,
    /// ListOrganizationalUnitsForParent and, with exclude.accountTags, ListTagsForResource).
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$"))]
    pub role_arn: String,

    /// The units whose ACTIVE accounts are governed: organizational unit ids
    /// (ou-xxxx-yyyyyyyy) or the root id (r-xxxx: the accounts directly under the root).
    #[schemars(length(min = 1, max = 100))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    #[schemars(inner(regex(pattern = r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$")))]
    pub organizational_unit_ids: Vec<String>,

    /// Also the accounts of every unit below the given ones, at any depth. Default: false
    /// (the accounts directly in the given units only).
    #[serde(default)]
    pub include_nested_units: bool,

    /// Accounts left out although they are in the units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<AccountExclusions>,
}

/// Accounts left out of an organization's units.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountExclusions {
    /// These account ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    #[schemars(inner(regex(pattern = r"^[0-9]{12}$")))]
    pub account_ids: Vec<String>,

    /// Accounts that carry every one of these tags (Organizations account tags).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 50))]
    pub account_tags: BTreeMap<String, String>,
}

/// A CostPolicy spec without `aws`: the same fields, rules and defaults.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.gatewayEndpoints) || has(self.snapshotRetention) || has(self.ssmAccess) || has(self.backup) || has(self.accessKeys) || has(self.rightSizing) || has(self.cloudWatch)", "message": "at least one area must be configured: spec.template.gatewayEndpoints, spec.template.snapshotRetention, spec.template.ssmAccess, spec.template.backup, spec.template.accessKeys, spec.template.rightSizing or spec.template.cloudWatch"},
    {"rule": "self.mode != 'Enforce' || !has(self.snapshotRetention) || has(self.snapshotRetention.maxDeletionsPerRun)", "message": "spec.template.snapshotRetention.maxDeletionsPerRun is required in Enforce mode"}
]))]
pub struct PolicyTemplate {
    /// spec.mode of every generated policy: Enforce or Audit. Default: Audit.
    #[serde(default)]
    pub mode: Mode,

    /// spec.resyncInterval of every generated policy (e.g. 10m; at least 30s, at most 24h).
    #[serde(default = "default_resync_interval")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$"))]
    pub resync_interval: String,

    /// spec.deletionPolicy of every generated policy: what happens to its AWS objects when it
    /// is deleted (also when its account or region leaves the set).
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// spec.pricing of every generated policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<PricingSpec>,

    /// spec.gatewayEndpoints of every generated policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_endpoints: Option<GatewayEndpointsSpec>,

    /// spec.snapshotRetention of every generated policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_retention: Option<SnapshotRetentionSpec>,

    /// spec.ssmAccess of every generated policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssm_access: Option<SsmAccessSpec>,

    /// spec.backup of every generated policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupSpec>,

    /// spec.accessKeys of the generated policy of each account's first region only: IAM is
    /// global, and one policy per account acts on its keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_keys: Option<AccessKeysSpec>,

    /// spec.rightSizing of every generated policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right_sizing: Option<RightSizingSpec>,

    /// spec.cloudWatch of every generated policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch: Option<CloudWatchSpec>,
}

impl PolicyTemplate {
    /// The CostPolicy spec this template gives for `aws`. Destructured without `..`: a field
    /// added to the template that is not carried into the spec does not compile.
    pub fn to_spec(&self, aws: AwsTarget) -> CostPolicySpec {
        let PolicyTemplate {
            mode,
            resync_interval,
            deletion_policy,
            pricing,
            gateway_endpoints,
            snapshot_retention,
            ssm_access,
            backup,
            access_keys,
            right_sizing,
            cloud_watch,
        } = self.clone();
        CostPolicySpec {
            mode,
            aws,
            resync_interval,
            deletion_policy,
            pricing,
            gateway_endpoints,
            snapshot_retention,
            ssm_access,
            backup,
            access_keys,
            right_sizing,
            cloud_watch,
        }
    }
}

/// Observed state of a CostPolicySet, read from the generated policies' status (no AWS call).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostPolicySetStatus {
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready, Reconciling and Stalled (kstatus).
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// Accounts resolved.
    #[serde(default)]
    pub accounts: u32,

    /// Regions per account.
    #[serde(default)]
    pub regions: u32,

    /// Generated policies that exist.
    #[serde(default)]
    pub policies: u32,

    /// Generated policies whose Ready condition is True for their current generation.
    #[serde(default)]
    pub ready: u32,

    /// Generated policies not Ready yet (and not Stalled).
    #[serde(default)]
    pub not_ready: u32,

    /// Generated policies that are Stalled (e.g. a role the operator may not assume).
    #[serde(default)]
    pub stalled: u32,

    /// Generated policies that report a Conflict with another policy over the same objects.
    #[serde(default)]
    pub conflicts: u32,

    /// Open findings summed over the generated policies.
    #[serde(default)]
    pub findings: u32,

    /// Estimated monthly waste over the generated policies, in USD.
    #[serde(default)]
    pub monthly_waste_usd: String,

    /// Estimated monthly savings over the generated policies, in USD.
    #[serde(default)]
    pub monthly_savings_usd: String,

    /// The account-regions with the most waste, most first (at most 10).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top_waste: Vec<AccountRegionWaste>,
}

/// One account-region's waste.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountRegionWaste {
    /// The 12-digit account id.
    pub account: String,
    /// The region.
    pub region: String,
    /// The generated policy.
    pub policy: String,
    /// Its estimated monthly waste, in USD.
    pub monthly_waste_usd: String,
}

#[cfg(test)]
mod tests {
    use schemars::schema_for;
    use serde_json::Value;

    use super::*;

    /// The template's schema is the policy spec's without `aws`: every field, type, default
    /// and CEL rule (the rules' messages name the template's fields).
    #[test]
    fn the_template_is_the_policy_spec_without_aws() {
        let spec = serde_json::to_value(schema_for!(CostPolicySpec)).expect("json");
        let template = serde_json::to_value(schema_for!(PolicyTemplate)).expect("json");
        let without_description = |props: &Value| -> Vec<(String, Value)> {
            let mut fields: Vec<(String, Value)> = props
                .as_object()
                .expect("properties")
                .iter()
                .filter(|(name, _)| name.as_str() != "aws")
                .map(|(name, field)| {
                    let mut field = field.clone();
                    field.as_object_mut().map(|f| f.remove("description"));
                    (name.clone(), field)
                })
                .collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            fields
        };
        assert_eq!(without_description(&template["properties"]), without_description(&spec["properties"]));
        let rules = |schema: &Value| -> Vec<String> {
            schema["x-kubernetes-validations"].as_array().expect("rules").iter().map(|r| r["rule"].to_string()).collect()
        };
        assert_eq!(rules(&template), rules(&spec));
        let mut spec_defs = spec["$defs"].clone();
        spec_defs.as_object_mut().map(|defs| defs.remove("AwsTarget"));
        assert_eq!(template["$defs"], spec_defs, "the same section types");
    }
}
