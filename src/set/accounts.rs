//! Which accounts a set covers: its listed ids, or the ACTIVE accounts of organizational
//! units read from AWS Organizations. The walk over the units goes through
//! [`OrganizationReader`] (the AWS adapter is `crate::aws::organizations`); what is in scope
//! is computed from the snapshot it reads by a pure function ([`in_scope`]).
//!
//! A failed read is an error, never an empty list: a set deletes a policy only when its
//! account is positively out of scope (safety rule 12).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;

use crate::api::validate::{OrganizationScope, SetAccounts, ValidatedSet};
use crate::engine::CloudError;

/// Organizations' status of an account that is in use (others: SUSPENDED, PENDING_CLOSURE,
/// CLOSED, PENDING_ACTIVATION).
pub const ACTIVE: &str = "ACTIVE";

/// An account directly under a unit, as ListAccountsForParent gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberAccount {
    pub id: String,
    /// ACTIVE, SUSPENDED, PENDING_CLOSURE, ...
    pub status: String,
}

impl MemberAccount {
    pub fn new(id: impl Into<String>, status: impl Into<String>) -> Self {
        Self { id: id.into(), status: status.into() }
    }
}

/// Reads AWS Organizations through the role of a scope. Every method reads every page.
#[async_trait]
pub trait OrganizationReader: Send + Sync {
    /// The organizational units directly under `parent` (a unit or the root).
    async fn child_units(&self, scope: &OrganizationScope, parent: &str) -> Result<Vec<String>, CloudError>;
    /// The accounts directly under `parent`, with their status.
    async fn accounts(&self, scope: &OrganizationScope, parent: &str) -> Result<Vec<MemberAccount>, CloudError>;
    /// An account's tags.
    async fn account_tags(&self, scope: &OrganizationScope, account: &str) -> Result<BTreeMap<String, String>, CloudError>;
}

/// Why a set's accounts could not be resolved.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AccountsError {
    #[error("cannot read the organization through {role_arn} ({target}): {error}")]
    Organizations {
        role_arn: String,
        /// The unit or account being read.
        target: String,
        #[source]
        error: CloudError,
    },
}

/// What was read of an organization: the units below each unit read, the accounts directly
/// under each, and the tags of the accounts whose tags were read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrganizationSnapshot {
    pub child_units: BTreeMap<String, Vec<String>>,
    pub accounts: BTreeMap<String, Vec<MemberAccount>>,
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
}

/// The accounts a set covers, sorted and each once: its ids, or for an organization the
/// accounts `organizations` reads (see [`read`] and [`in_scope`]).
pub async fn resolve(set: &ValidatedSet, organizations: &dyn OrganizationReader) -> Result<Vec<String>, AccountsError> {
    match &set.accounts {
        SetAccounts::Ids(ids) => {
            let unique: BTreeSet<&String> = ids.iter().collect();
            Ok(unique.into_iter().cloned().collect())
        }
        SetAccounts::Organization(scope) => Ok(in_scope(scope, &read(scope, organizations).await?)),
    }
}

/// Reads what [`in_scope`] needs: the scope's units (and, when nested units are included,
/// every unit below them), their accounts, and the tags of their ACTIVE accounts only when
/// accounts are excluded by tags.
pub async fn read(scope: &OrganizationScope, organizations: &dyn OrganizationReader) -> Result<OrganizationSnapshot, AccountsError> {
    let failed = |target: &str| {
        let (role_arn, target) = (scope.role_arn.clone(), target.to_string());
        move |error| AccountsError::Organizations { role_arn, target, error }
    };
    let mut snapshot = OrganizationSnapshot::default();
    let mut pending: Vec<String> = scope.units.iter().rev().cloned().collect();
    let mut seen = BTreeSet::new();
    while let Some(unit) = pending.pop() {
        if !seen.insert(unit.clone()) {
            continue;
        }
        let accounts = organizations.accounts(scope, &unit).await.map_err(failed(&unit))?;
        snapshot.accounts.insert(unit.clone(), accounts);
        if scope.include_nested_units {
            let children = organizations.child_units(scope, &unit).await.map_err(failed(&unit))?;
            pending.extend(children.iter().rev().cloned());
            snapshot.child_units.insert(unit, children);
        }
    }
    if !scope.exclude_account_tags.is_empty() {
        let active: BTreeSet<String> = snapshot
            .accounts
            .values()
            .flatten()
            .filter(|a| a.status == ACTIVE && !scope.exclude_account_ids.contains(&a.id))
            .map(|a| a.id.clone())
            .collect();
        for account in active {
            let tags = organizations.account_tags(scope, &account).await.map_err(failed(&account))?;
            snapshot.tags.insert(account, tags);
        }
    }
    Ok(snapshot)
}

/// The ACTIVE accounts of the scope's units (and of the units below them when nested units
/// are included), less the excluded ids and the accounts carrying every excluded tag;
/// sorted, each once.
pub fn in_scope(scope: &OrganizationScope, snapshot: &OrganizationSnapshot) -> Vec<String> {
    let mut units: BTreeSet<&str> = BTreeSet::new();
    let mut pending: Vec<&str> = scope.units.iter().map(String::as_str).collect();
    while let Some(unit) = pending.pop() {
        // A unit reached twice (listed and nested in another listed one) counts once.
        if !units.insert(unit) {
            continue;
        }
        if scope.include_nested_units {
            pending.extend(snapshot.child_units.get(unit).into_iter().flatten().map(String::as_str));
        }
    }
    let excluded_by_tags = |id: &str| {
        !scope.exclude_account_tags.is_empty()
            && snapshot.tags.get(id).is_some_and(|tags| scope.exclude_account_tags.iter().all(|(k, v)| tags.get(k) == Some(v)))
    };
    let accounts: BTreeSet<&str> = units
        .into_iter()
        .flat_map(|unit| snapshot.accounts.get(unit).into_iter().flatten())
        .filter(|account| account.status == ACTIVE)
        .map(|account| account.id.as_str())
        .filter(|id| !scope.exclude_account_ids.contains(*id) && !excluded_by_tags(id))
        .collect();
    accounts.into_iter().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::engine::ErrorKind;

    const PROD: &str = "ou-ab12-prod0001";
    const PROD_EU: &str = "ou-ab12-prodeu01";
    const PROD_EU_DB: &str = "ou-ab12-proddb01";
    const DEV: &str = "ou-ab12-dev00001";

    fn scope(units: &[&str], nested: bool) -> OrganizationScope {
        OrganizationScope {
            role_arn: "arn:aws:iam::999999999999:role/frugal-org-reader".into(),
            external_id: None,
            units: units.iter().map(|u| u.to_string()).collect(),
            include_nested_units: nested,
            exclude_account_ids: BTreeSet::new(),
            exclude_account_tags: BTreeMap::new(),
        }
    }

    /// prod (2 accounts, one suspended) > prod-eu (1) > prod-eu-db (1, also one pending
    /// closure); dev (1), beside prod.
    fn organization() -> OrganizationSnapshot {
        let accounts = |list: &[(&str, &str)]| list.iter().map(|(id, status)| MemberAccount::new(*id, *status)).collect::<Vec<_>>();
        OrganizationSnapshot {
            child_units: BTreeMap::from([
                (PROD.to_string(), vec![PROD_EU.to_string()]),
                (PROD_EU.to_string(), vec![PROD_EU_DB.to_string()]),
                (PROD_EU_DB.to_string(), vec![]),
                (DEV.to_string(), vec![]),
            ]),
            accounts: BTreeMap::from([
                (PROD.to_string(), accounts(&[("222222222222", ACTIVE), ("111111111111", ACTIVE), ("999999999991", "SUSPENDED")])),
                (PROD_EU.to_string(), accounts(&[("333333333333", ACTIVE)])),
                (PROD_EU_DB.to_string(), accounts(&[("444444444444", ACTIVE), ("999999999992", "PENDING_CLOSURE")])),
                (DEV.to_string(), accounts(&[("555555555555", ACTIVE)])),
            ]),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn only_the_units_own_accounts_without_nested_units() {
        assert_eq!(in_scope(&scope(&[PROD], false), &organization()), ["111111111111", "222222222222"]);
    }

    #[test]
    fn nested_units_at_any_depth_when_asked() {
        assert_eq!(in_scope(&scope(&[PROD], true), &organization()), ["111111111111", "222222222222", "333333333333", "444444444444"]);
        assert_eq!(in_scope(&scope(&[PROD_EU], true), &organization()), ["333333333333", "444444444444"]);
    }

    #[test]
    fn suspended_and_closing_accounts_are_out_of_scope() {
        let all = in_scope(&scope(&[PROD, PROD_EU_DB], false), &organization());
        assert!(!all.iter().any(|id| id.starts_with("99999999999")), "{all:?}");
    }

    #[test]
    fn a_unit_listed_and_nested_in_another_gives_its_accounts_once_sorted() {
        let ids = in_scope(&scope(&[DEV, PROD_EU, PROD], true), &organization());
        assert_eq!(ids, ["111111111111", "222222222222", "333333333333", "444444444444", "555555555555"]);
    }

    #[test]
    fn excluded_ids_and_accounts_carrying_every_excluded_tag_are_left_out() {
        let mut scope = scope(&[PROD], true);
        scope.exclude_account_ids = BTreeSet::from(["222222222222".to_string()]);
        scope.exclude_account_tags = BTreeMap::from([("frugal.dev/skip".to_string(), "true".to_string()), ("tier".into(), "db".into())]);
        let mut organization = organization();
        let tags = |list: &[(&str, &str)]| list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
        organization.tags = BTreeMap::from([
            ("444444444444".to_string(), tags(&[("frugal.dev/skip", "true"), ("tier", "db")])),
            ("333333333333".to_string(), tags(&[("frugal.dev/skip", "true")])),
            ("111111111111".to_string(), tags(&[("frugal.dev/skip", "false"), ("tier", "db")])),
        ]);
        assert_eq!(in_scope(&scope, &organization), ["111111111111", "333333333333"], "one tag of two does not exclude");
    }

    /// An in-memory organization that records what was read, and fails on one unit.
    struct Fake {
        organization: OrganizationSnapshot,
        tags: BTreeMap<String, BTreeMap<String, String>>,
        fail_on: Option<&'static str>,
        reads: Mutex<Vec<String>>,
    }

    impl Fake {
        fn new(organization: OrganizationSnapshot) -> Self {
            Self { organization, tags: BTreeMap::new(), fail_on: None, reads: Mutex::default() }
        }

        fn record(&self, read: String) -> Result<(), CloudError> {
            let failing = self.fail_on.is_some_and(|unit| read.ends_with(unit));
            self.reads.lock().expect("lock").push(read);
            if failing {
                Err(CloudError::new("ListAccountsForParent", ErrorKind::AccessDenied, "AccessDeniedException: no"))
            } else {
                Ok(())
            }
        }

        fn reads(&self) -> Vec<String> {
            self.reads.lock().expect("lock").clone()
        }
    }

    #[async_trait]
    impl OrganizationReader for Fake {
        async fn child_units(&self, _: &OrganizationScope, parent: &str) -> Result<Vec<String>, CloudError> {
            self.record(format!("units {parent}"))?;
            Ok(self.organization.child_units.get(parent).cloned().unwrap_or_default())
        }
        async fn accounts(&self, _: &OrganizationScope, parent: &str) -> Result<Vec<MemberAccount>, CloudError> {
            self.record(format!("accounts {parent}"))?;
            Ok(self.organization.accounts.get(parent).cloned().unwrap_or_default())
        }
        async fn account_tags(&self, _: &OrganizationScope, account: &str) -> Result<BTreeMap<String, String>, CloudError> {
            self.record(format!("tags {account}"))?;
            Ok(self.tags.get(account).cloned().unwrap_or_default())
        }
    }

    fn set_of(accounts: SetAccounts) -> ValidatedSet {
        let spec: crate::api::CostPolicySetSpec =
            serde_yaml::from_str("accounts: {ids: ['111122223333'], roleName: r}\nregions: [eu-west-1]\ntemplate: {accessKeys: {}}\n")
                .expect("parses");
        let mut set = crate::api::validate::validate_set("prod", &spec).expect("valid");
        set.accounts = accounts;
        set
    }

    #[tokio::test]
    async fn listed_ids_are_not_read_from_organizations() {
        let fake = Fake::new(organization());
        let set = set_of(SetAccounts::Ids(vec!["444455556666".into(), "111122223333".into()]));
        assert_eq!(resolve(&set, &fake).await, Ok(vec!["111122223333".to_string(), "444455556666".to_string()]));
        assert!(fake.reads().is_empty());
    }

    #[tokio::test]
    async fn nested_units_are_walked_and_tags_read_only_when_excluded_by_tags() {
        let fake = Fake::new(organization());
        let set = set_of(SetAccounts::Organization(scope(&[PROD], true)));
        assert_eq!(resolve(&set, &fake).await.expect("resolves"), ["111111111111", "222222222222", "333333333333", "444444444444"]);
        assert!(fake.reads().iter().all(|r| !r.starts_with("tags")), "{:?}", fake.reads());
        assert_eq!(fake.reads().iter().filter(|r| r.starts_with("units")).count(), 3, "prod, prod-eu and prod-eu-db");

        let fake = Fake::new(organization());
        let mut excluding = scope(&[PROD], false);
        excluding.exclude_account_tags = BTreeMap::from([("frugal.dev/skip".into(), "true".into())]);
        resolve(&set_of(SetAccounts::Organization(excluding)), &fake).await.expect("resolves");
        assert_eq!(
            fake.reads(),
            ["accounts ou-ab12-prod0001", "tags 111111111111", "tags 222222222222"],
            "no units read, no suspended account's tags"
        );
    }

    #[tokio::test]
    async fn a_failed_read_is_an_error_naming_the_unit_never_a_shorter_list() {
        let mut fake = Fake::new(organization());
        fake.fail_on = Some(PROD_EU_DB);
        let set = set_of(SetAccounts::Organization(scope(&[PROD], true)));
        let error = resolve(&set, &fake).await.expect_err("the read failed");
        let AccountsError::Organizations { target, error: cause, .. } = &error;
        assert_eq!((target.as_str(), cause.kind), (PROD_EU_DB, ErrorKind::AccessDenied));
        assert!(error.to_string().contains("frugal-org-reader"), "{error}");
    }
}
