//! A CostPolicySet's accounts read from AWS Organizations in the emulator, through the real
//! adapter (`aws::organizations`): every page of a unit's accounts and child units, nested
//! units at any depth, closed (SUSPENDED) accounts left out, exclusion by id and by tags,
//! and tags read only when excluding by tags.

mod common;

use std::collections::BTreeSet;

use common::TestAccount;
use common::organization::Organization;
use frugal_operator::api::CostPolicySetSpec;
use frugal_operator::api::validate::validate_set;
use frugal_operator::aws::organizations::AwsOrganizations;
use frugal_operator::set::accounts::resolve;

/// The accounts a set over `units` covers, read by the operator's adapter as the test
/// account (the organization's management account) through its role.
async fn resolved(management: &TestAccount, units: &[&str], nested: bool, exclude: &str) -> Vec<String> {
    let yaml = format!(
        "accounts:
  organization: {{roleArn: '{}', organizationalUnitIds: {units:?}, includeNestedUnits: {nested}{exclude}}}
  roleName: frugal-target
regions: [eu-west-1]
template: {{accessKeys: {{}}}}
",
        management.role_arn
    );
    let spec: CostPolicySetSpec = serde_yaml::from_str(&yaml).expect("the set parses");
    let set = validate_set("fleet", &spec).expect("a valid set");
    resolve(&set, &AwsOrganizations::new(management.connector())).await.expect("the organization is read")
}

/// How many requests of `operation` the management account made.
async fn calls(management: &TestAccount, operation: &str) -> usize {
    management.requests().await.iter().filter(|r| r.operation == operation).count()
}

fn sorted(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    ids.into_iter().collect::<BTreeSet<_>>().into_iter().collect()
}

#[tokio::test]
async fn a_units_active_accounts_are_read_page_by_page_nested_units_at_any_depth_less_the_excluded() {
    let management = TestAccount::new().await;
    let org = Organization::create(&management).await;
    let prod = org.unit(&org.root, "prod").await;
    let eu = org.unit(&prod, "prod-eu").await;
    let dev = org.unit(&org.root, "dev").await;
    // 25 accounts: more than one page of ListAccountsForParent (20 by default).
    let prod_accounts = org.accounts(&prod, 25, "prod").await;
    let eu_accounts = org.accounts(&eu, 2, "eu").await;
    let dev_accounts = org.accounts(&dev, 1, "dev").await;
    // 21 units below prod-eu: more than one page of ListOrganizationalUnitsForParent; the
    // last one (on the second page), two levels below prod, holds an account.
    let mut teams = Vec::new();
    for i in 0..21 {
        teams.push(org.unit(&eu, &format!("team-{i:02}")).await);
    }
    let deep = org.accounts(&teams[20], 1, "deep").await;
    let (closed, tagged, excluded) = (&prod_accounts[0], &prod_accounts[1], &prod_accounts[2]);
    org.close_account(closed).await;
    org.tag_account(tagged, "frugal.dev/skip", "true").await;
    org.tag_account(excluded, "team", "payments").await;
    management.clear_requests().await;

    let direct = resolved(&management, &[&prod], false, "").await;
    assert_eq!(direct, sorted(prod_accounts.iter().filter(|id| *id != closed).cloned()), "prod's own ACTIVE accounts, the tagged one too");
    assert_eq!(direct.len(), 24);
    assert_eq!(calls(&management, "ListAccountsForParent").await, 2, "both pages of prod");
    assert_eq!(calls(&management, "ListOrganizationalUnitsForParent").await, 0, "no nesting asked");
    assert_eq!(calls(&management, "ListTagsForResource").await, 0, "no tags asked");

    management.clear_requests().await;
    let exclude = format!(", exclude: {{accountIds: ['{excluded}'], accountTags: {{frugal.dev/skip: 'true'}}}}");
    let nested = resolved(&management, &[&prod], true, &exclude).await;
    let expected =
        sorted(prod_accounts.iter().filter(|id| ![closed, tagged, excluded].contains(id)).chain(&eu_accounts).chain(&deep).cloned());
    assert_eq!(nested, expected);
    assert!(!nested.iter().any(|id| dev_accounts.contains(id)), "dev is beside prod, not below it");
    // prod (2 pages), prod-eu, the 21 teams.
    assert_eq!(calls(&management, "ListAccountsForParent").await, 2 + 1 + 21);
    // prod, prod-eu (2 pages), the 21 teams.
    assert_eq!(calls(&management, "ListOrganizationalUnitsForParent").await, 1 + 2 + 21);
    assert_eq!(calls(&management, "ListTagsForResource").await, expected.len() + 1, "the ACTIVE accounts not excluded by id");
}

#[tokio::test]
async fn an_account_moved_out_of_the_unit_or_closed_leaves_the_set() {
    let management = TestAccount::new().await;
    let org = Organization::create(&management).await;
    let prod = org.unit(&org.root, "prod").await;
    let sandbox = org.unit(&org.root, "sandbox").await;
    let accounts = org.accounts(&prod, 3, "prod").await;
    assert_eq!(resolved(&management, &[&prod], false, "").await, sorted(accounts.clone()));

    org.move_account(&accounts[0], &prod, &sandbox).await;
    org.close_account(&accounts[1]).await;
    assert_eq!(resolved(&management, &[&prod], false, "").await, [accounts[2].clone()]);
    assert_eq!(resolved(&management, &[&prod, &sandbox], false, "").await, sorted([accounts[0].clone(), accounts[2].clone()]));
    // The root holds the accounts in no unit: the management account itself.
    assert_eq!(resolved(&management, &[&org.root], false, "").await, vec![management.id.clone()]);
}

#[tokio::test]
async fn a_unit_that_does_not_exist_is_an_error_not_an_empty_set() {
    let management = TestAccount::new().await;
    let org = Organization::create(&management).await;
    let spec: CostPolicySetSpec = serde_yaml::from_str(&format!(
        "accounts: {{organization: {{roleArn: '{}', organizationalUnitIds: [ou-{}-missing1]}}, roleName: r}}
regions: [eu-west-1]
template: {{accessKeys: {{}}}}
",
        management.role_arn,
        org.root.trim_start_matches("r-")
    ))
    .expect("parses");
    let set = validate_set("fleet", &spec).expect("valid");
    let error = resolve(&set, &AwsOrganizations::new(management.connector())).await.expect_err("no such unit");
    assert!(error.to_string().contains("ListAccountsForParent"), "{error}");
}
