//! AWS Organizations, read for the accounts of a CostPolicySet's units: through the role
//! of the set's `spec.accounts.organization.roleArn` (with `spec.accounts.externalId`),
//! every page of ListAccountsForParent and ListOrganizationalUnitsForParent, and
//! ListTagsForResource for the tags of an account. Organizations is global: its endpoint is
//! in us-east-1 (aws partition). Each page is paced like any describe, in a bucket of the
//! organization's account.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_organizations::types::Account;
use tokio::sync::Mutex;

use super::pacing::PaceClass;
use super::paging::{PacedPages, Page};
use super::request_metrics::RequestMetrics;
use super::{AwsConnector, assume_role, error};
use crate::api::validate::OrganizationScope;
use crate::engine::{CloudError, ErrorKind};
use crate::set::accounts::{MemberAccount, OrganizationReader};

/// Where Organizations is served from in the aws partition (organizations.us-east-1.amazonaws.com).
const ORGANIZATIONS_REGION: &str = "us-east-1";
/// The pacing bucket's region part: Organizations is one service per organization.
const PACING_SCOPE: &str = "organizations";

/// Reads Organizations through the role each scope names; one client per role and external
/// id, kept for the credentials' refresh.
pub struct AwsOrganizations {
    connector: Arc<AwsConnector>,
    clients: Mutex<HashMap<(String, Option<String>), aws_sdk_organizations::Client>>,
}

impl AwsOrganizations {
    /// A reader with the connector's endpoint, base credentials, retry limits, pacing and
    /// metrics.
    pub fn new(connector: Arc<AwsConnector>) -> Self {
        Self { connector, clients: Mutex::new(HashMap::new()) }
    }

    /// The client that assumes the scope's role (opened on first use; assuming happens on
    /// the first request).
    async fn client(&self, scope: &OrganizationScope) -> aws_sdk_organizations::Client {
        let key = (scope.role_arn.clone(), scope.external_id.clone());
        let mut clients = self.clients.lock().await;
        if let Some(client) = clients.get(&key) {
            return client.clone();
        }
        let region = region_of(&scope.role_arn);
        let base = self.connector.base_config(region).await;
        let config = assume_role(base, &scope.role_arn, scope.external_id.as_deref(), region).await;
        let client = aws_sdk_organizations::Client::from_conf(
            aws_sdk_organizations::config::Builder::from(&config).interceptor(RequestMetrics::new(self.connector.metrics.clone())).build(),
        );
        clients.insert(key, client.clone());
        client
    }

    async fn paced<T: Page, E>(
        &self,
        scope: &OrganizationScope,
        pages: aws_smithy_async::future::pagination_stream::PaginationStream<Result<T, E>>,
    ) -> PacedPages<T, E> {
        let account = scope.role_arn.split(':').nth(4).unwrap_or_default();
        PacedPages::new(self.connector.pacer.bucket(account, PACING_SCOPE, PaceClass::NonMutating).await, pages)
    }
}

/// Organizations' region for the role's partition: us-east-1 for aws; aws-cn and
/// aws-us-gov serve it from their first region.
fn region_of(role_arn: &str) -> &'static str {
    match role_arn.split(':').nth(1) {
        Some("aws-cn") => "cn-northwest-1",
        Some("aws-us-gov") => "us-gov-west-1",
        _ => ORGANIZATIONS_REGION,
    }
}

/// An account of a ListAccountsForParent answer: its id and state (State; Status, retired in
/// 2026, when an older answer has no State). An entry without either is an incomplete
/// answer, an error: read as "not ACTIVE" or skipped, it would delete the account's
/// policies although nothing says the account left (safety rule 12).
fn member_of(account: &Account) -> Result<MemberAccount, CloudError> {
    let incomplete = |what: &str| {
        CloudError::new("ListAccountsForParent", ErrorKind::InvalidRequest, format!("an account without {what} in the answer"))
    };
    let id = account.id().ok_or_else(|| incomplete("Id"))?;
    let state = match (account.state(), account.status()) {
        (Some(state), _) => state.as_str(),
        (None, Some(status)) => status.as_str(),
        (None, None) => return Err(incomplete(&format!("State (account {id})"))),
    };
    Ok(MemberAccount::new(id, state))
}

#[async_trait]
impl OrganizationReader for AwsOrganizations {
    async fn child_units(&self, scope: &OrganizationScope, parent: &str) -> Result<Vec<String>, CloudError> {
        let client = self.client(scope).await;
        let mut pages = self.paced(scope, client.list_organizational_units_for_parent().parent_id(parent).into_paginator().send()).await;
        let mut units = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| error::classify("ListOrganizationalUnitsForParent", e))?;
            units.extend(page.organizational_units().iter().filter_map(|u| u.id()).map(str::to_string));
        }
        Ok(units)
    }

    async fn accounts(&self, scope: &OrganizationScope, parent: &str) -> Result<Vec<MemberAccount>, CloudError> {
        let client = self.client(scope).await;
        let mut pages = self.paced(scope, client.list_accounts_for_parent().parent_id(parent).into_paginator().send()).await;
        let mut accounts = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| error::classify("ListAccountsForParent", e))?;
            for account in page.accounts() {
                accounts.push(member_of(account)?);
            }
        }
        Ok(accounts)
    }

    async fn account_tags(&self, scope: &OrganizationScope, account: &str) -> Result<BTreeMap<String, String>, CloudError> {
        let client = self.client(scope).await;
        let mut pages = self.paced(scope, client.list_tags_for_resource().resource_id(account).into_paginator().send()).await;
        let mut tags = BTreeMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| error::classify("ListTagsForResource", e))?;
            tags.extend(page.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())));
        }
        Ok(tags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_without_id_or_state_is_an_incomplete_answer_not_an_account_gone() {
        let active = Account::builder().id("111122223333").state(aws_sdk_organizations::types::AccountState::Active).build();
        assert_eq!(member_of(&active), Ok(MemberAccount::new("111122223333", "ACTIVE")));
        let retired_field = Account::builder().id("111122223333").status(aws_sdk_organizations::types::AccountStatus::Suspended).build();
        assert_eq!(member_of(&retired_field), Ok(MemberAccount::new("111122223333", "SUSPENDED")));
        let no_state = member_of(&Account::builder().id("111122223333").build()).expect_err("no state");
        assert!(no_state.message.contains("without State (account 111122223333)"), "{no_state:?}");
        assert!(member_of(&Account::builder().state(aws_sdk_organizations::types::AccountState::Active).build()).is_err());
    }

    #[test]
    fn organizations_is_read_in_the_partitions_home_region() {
        assert_eq!(region_of("arn:aws:iam::999999999999:role/r"), "us-east-1");
        assert_eq!(region_of("arn:aws-us-gov:iam::999999999999:role/r"), "us-gov-west-1");
        assert_eq!(region_of("arn:aws-cn:iam::999999999999:role/r"), "cn-northwest-1");
    }
}
