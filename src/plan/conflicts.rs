//! Conflicting policies: two policies that govern the same snapshots or VPCs of one account.
//! The stricter safety wins: a snapshot is expired only if every policy whose scope holds it
//! expires it (see `snapshot_retention::plan_with_peers`), and a VPC in several gatewayEndpoints scopes
//! is acted on by one policy only, the one with the smallest name (see
//! `gateway_endpoints::plan_with_peers`); so are an account's access keys, whatever the region. Scopes overlap unless they are provably disjoint.

use std::collections::BTreeMap;

use crate::api::AreaName;
use crate::api::validate::{SnapshotRetentionDesired, ValidatedPolicy, VpcScope};

/// An area this policy shares with another policy.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Conflict {
    /// snapshotRetention or gatewayEndpoints.
    pub area: AreaName,
    pub other: String,
}

/// What a policy must respect of the policies it conflicts with.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Peers {
    pub conflicts: Vec<Conflict>,
    /// The snapshotRetention sections of the conflicting policies.
    pub snapshot_retention: Vec<SnapshotRetentionDesired>,
    /// The VPC scopes of conflicting policies with a smaller name: their VPCs are theirs to act on.
    pub gateway_yield_to: Vec<(String, VpcScope)>,
    /// The policy with the smallest name of those managing access keys of the same account
    /// (IAM is global), when it is not this one: only it acts.
    pub access_keys_managed_by: Option<String>,
}

impl Peers {
    /// The policies this one conflicts with in `area`, sorted.
    pub fn others(&self, area: AreaName) -> Vec<&str> {
        self.conflicts.iter().filter(|c| c.area == area).map(|c| c.other.as_str()).collect()
    }
}

/// The account id in a policy's aws.roleArn; None when it uses the operator's own credentials.
fn role_account(policy: &ValidatedPolicy) -> Option<&str> {
    policy.aws.role_arn.as_deref().and_then(|arn| arn.split(':').nth(4))
}

/// True when some of the policies use a role and some the operator's own credentials: only
/// then does "same account" need the account of those credentials (see [`peers`]).
pub fn needs_own_account<'a>(policies: impl IntoIterator<Item = &'a ValidatedPolicy>) -> bool {
    let (mut with_role, mut without) = (false, false);
    for policy in policies {
        match role_account(policy) {
            Some(_) => with_role = true,
            None => without = true,
        }
    }
    with_role && without
}

/// Two tag selectors select no object in common only when they want different values of one key.
fn tags_disjoint(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> bool {
    a.iter().any(|(k, v)| b.get(k).is_some_and(|w| w != v))
}

fn vpc_scopes_overlap(a: &VpcScope, b: &VpcScope) -> bool {
    match (a, b) {
        (VpcScope::Ids(a), VpcScope::Ids(b)) => !a.is_disjoint(b),
        (VpcScope::Tags(a), VpcScope::Tags(b)) => !tags_disjoint(a, b),
        // A VPC's tags are not known here: it may carry the selector's tags.
        _ => true,
    }
}

/// The conflicts of `policy` with `others` (other valid, live policies; `policy` itself is
/// skipped). `own_account` is the account of the operator's own credentials, which every
/// policy without aws.roleArn acts on: a role into that same account is the same account.
/// Unknown (None), policies are compared by how they reach AWS.
pub fn peers<'a>(policy: &ValidatedPolicy, others: impl IntoIterator<Item = &'a ValidatedPolicy>, own_account: Option<&str>) -> Peers {
    let account = |p: &'a ValidatedPolicy| role_account(p).or(own_account);
    let mine = role_account(policy).or(own_account);
    let same_target = |o: &ValidatedPolicy| o.aws.region == policy.aws.region;
    let mut peers = Peers::default();
    let mut others: Vec<&ValidatedPolicy> = others.into_iter().filter(|o| o.name != policy.name && account(o) == mine).collect();
    others.sort_by(|a, b| a.name.cmp(&b.name));
    for other in &others {
        // IAM is global: every region of the account shares its users and keys.
        if policy.access_keys.is_some() && other.access_keys.is_some() {
            peers.conflicts.push(Conflict { area: AreaName::AccessKeys, other: other.name.clone() });
            if other.name < policy.name && peers.access_keys_managed_by.is_none() {
                peers.access_keys_managed_by = Some(other.name.clone());
            }
        }
    }
    for other in others.into_iter().filter(|o| same_target(o)) {
        if let (Some(mine), Some(theirs)) = (&policy.snapshot_retention, &other.snapshot_retention)
            && !tags_disjoint(&mine.selector, &theirs.selector)
        {
            peers.conflicts.push(Conflict { area: AreaName::SnapshotRetention, other: other.name.clone() });
            peers.snapshot_retention.push(theirs.clone());
        }
        if let (Some(mine), Some(theirs)) = (&policy.gateway_endpoints, &other.gateway_endpoints)
            && vpc_scopes_overlap(&mine.vpcs, &theirs.vpcs)
        {
            peers.conflicts.push(Conflict { area: AreaName::GatewayEndpoints, other: other.name.clone() });
            if other.name < policy.name {
                peers.gateway_yield_to.push((other.name.clone(), theirs.vpcs.clone()));
            }
        }
    }
    peers
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::api::CostPolicySpec;
    use crate::api::validate::validate;

    fn policy(name: &str, yaml: &str) -> ValidatedPolicy {
        let spec: CostPolicySpec = serde_yaml::from_str(yaml).expect("spec parses");
        validate(name, &spec).expect("valid spec")
    }

    fn snapshots(name: &str, aws: &str, selector: &str) -> ValidatedPolicy {
        policy(name, &format!("aws: {aws}\nsnapshotRetention: {{maxAgeDays: 30, selector: {{tags: {selector}}}}}\n"))
    }

    fn endpoints(name: &str, vpcs: &str) -> ValidatedPolicy {
        policy(name, &format!("aws: {{region: eu-west-1}}\ngatewayEndpoints: {{services: [s3], {vpcs}}}\n"))
    }

    const HERE: &str = "{region: eu-west-1}";

    #[test]
    fn snapshot_scopes_overlap_unless_one_tag_key_wants_different_values() {
        let a = snapshots("a", HERE, "{env: prod}");
        let everything = snapshots("b", HERE, "{}");
        let same_env_more_tags = snapshots("c", HERE, "{env: prod, team: x}");
        let other_env = snapshots("d", HERE, "{env: dev}");
        let found = peers(&a, &[everything, same_env_more_tags, other_env], None);
        assert_eq!(found.others(AreaName::SnapshotRetention), ["b", "c"]);
        assert_eq!(found.snapshot_retention.len(), 2);
    }

    #[test]
    fn policies_on_other_regions_or_accounts_never_conflict() {
        let role = |account: &str| format!("{{region: eu-west-1, roleArn: 'arn:aws:iam::{account}:role/frugal'}}");
        let a = snapshots("a", &role("111122223333"), "{}");
        let other_account = snapshots("b", &role("444455556666"), "{}");
        let other_region = snapshots("c", "{region: us-east-1, roleArn: 'arn:aws:iam::111122223333:role/frugal'}", "{}");
        let own_credentials = snapshots("d", HERE, "{}");
        let same_account_other_role = snapshots("e", "{region: eu-west-1, roleArn: 'arn:aws:iam::111122223333:role/other'}", "{}");
        let found = peers(&a, &[other_account, other_region, own_credentials, same_account_other_role, a.clone()], None);
        assert_eq!(found.others(AreaName::SnapshotRetention), ["e"], "only the same account and region, never itself");
    }

    #[test]
    fn access_keys_are_managed_by_the_smallest_name_of_the_account_whatever_the_region() {
        let keys = |name: &str, region: &str| policy(name, &format!("aws: {{region: {region}}}\naccessKeys: {{}}\n"));
        let (a, b, c) = (keys("a", "eu-west-1"), keys("b", "us-east-1"), keys("c", "eu-west-1"));
        let other_account = policy("0", "aws: {region: eu-west-1, roleArn: 'arn:aws:iam::444455556666:role/frugal'}\naccessKeys: {}\n");
        let of_a = peers(&a, [&b, &c, &other_account], None);
        assert_eq!((of_a.others(AreaName::AccessKeys), of_a.access_keys_managed_by.as_deref()), (vec!["b", "c"], None));
        let of_c = peers(&c, [&a, &b, &other_account], None);
        assert_eq!((of_c.others(AreaName::AccessKeys), of_c.access_keys_managed_by.as_deref()), (vec!["a", "b"], Some("a")));
        assert_eq!(peers(&a, [&endpoints("0", "vpcIds: [vpc-00000001]")], None).conflicts, [], "only policies that manage access keys");
    }

    #[test]
    fn a_role_into_the_operators_own_account_is_that_same_account() {
        let own = policy("a", "aws: {region: eu-west-1}\naccessKeys: {}\n");
        let role = policy("b", "aws: {region: us-east-1, roleArn: 'arn:aws:iam::111122223333:role/frugal'}\naccessKeys: {}\n");
        assert!(needs_own_account([&own, &role]) && !needs_own_account([&own, &own]) && !needs_own_account([&role, &role]));
        let of_role = peers(&role, [&own], Some("111122223333"));
        assert_eq!((of_role.others(AreaName::AccessKeys), of_role.access_keys_managed_by.as_deref()), (vec!["a"], Some("a")));
        assert_eq!(peers(&own, [&role], Some("111122223333")).others(AreaName::AccessKeys), ["b"]);
        assert_eq!(peers(&role, [&own], Some("444455556666")).conflicts, [], "the operator's credentials are another account's");

        let snapshots_own = snapshots("c", HERE, "{}");
        let snapshots_role = snapshots("d", "{region: eu-west-1, roleArn: 'arn:aws:iam::111122223333:role/frugal'}", "{}");
        assert_eq!(peers(&snapshots_role, [&snapshots_own], Some("111122223333")).others(AreaName::SnapshotRetention), ["c"]);
    }

    #[test]
    fn vpc_scopes_overlap_on_a_shared_id_or_selectors_not_provably_disjoint() {
        let ids = endpoints("m", "vpcIds: [vpc-00000001, vpc-00000002]");
        let shared_id = endpoints("a", "vpcIds: [vpc-00000002, vpc-00000003]");
        let other_ids = endpoints("b", "vpcIds: [vpc-00000009]");
        let selector = endpoints("c", "vpcSelector: {tags: {env: prod}}");
        let found = peers(&ids, &[shared_id, other_ids, selector], None);
        assert_eq!(found.others(AreaName::GatewayEndpoints), ["a", "c"], "ids against a selector cannot be proven disjoint");

        let prod = endpoints("p", "vpcSelector: {tags: {env: prod}}");
        let dev = endpoints("q", "vpcSelector: {tags: {env: dev}}");
        assert_eq!(peers(&prod, &[dev], None).conflicts, []);
    }

    #[test]
    fn only_the_policy_with_the_larger_name_yields_the_shared_vpcs() {
        let a = endpoints("alpha", "vpcIds: [vpc-00000001]");
        let b = endpoints("beta", "vpcIds: [vpc-00000001]");
        assert_eq!(peers(&a, std::slice::from_ref(&b), None).gateway_yield_to, []);
        let yielded = peers(&b, &[a], None).gateway_yield_to;
        assert_eq!(yielded, [("alpha".to_string(), VpcScope::Ids(BTreeSet::from(["vpc-00000001".to_string()])))]);
    }
}
