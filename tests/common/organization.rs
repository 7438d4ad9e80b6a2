//! An AWS Organization seeded in the emulator through the standard Organizations API, in a
//! test account (moto keeps the organization in the calling account, so every test has its
//! own): the organization, organizational units, member accounts (moto gives them random
//! ids), and moving, closing and tagging accounts.

use aws_config::Region;
use aws_sdk_organizations::types::{OrganizationFeatureSet, Tag};

use super::TestAccount;

/// Organizations' endpoint region.
const REGION: &str = "us-east-1";

pub struct Organization {
    pub client: aws_sdk_organizations::Client,
    pub root: String,
}

impl Organization {
    /// Creates the organization, with `management` as its management account.
    pub async fn create(management: &TestAccount) -> Self {
        let config = aws_sdk_organizations::config::Builder::from(&management.config).region(Region::new(REGION)).build();
        let client = aws_sdk_organizations::Client::from_conf(config);
        client.create_organization().feature_set(OrganizationFeatureSet::All).send().await.expect("CreateOrganization");
        let roots = client.list_roots().send().await.expect("ListRoots");
        let root = roots.roots().first().and_then(|r| r.id()).expect("a root").to_string();
        Self { client, root }
    }

    /// A new organizational unit under `parent`.
    pub async fn unit(&self, parent: &str, name: &str) -> String {
        let created = self.client.create_organizational_unit().parent_id(parent).name(name).send().await.expect("CreateOrganizationalUnit");
        created.organizational_unit().and_then(|u| u.id()).expect("unit id").to_string()
    }

    /// `n` new member accounts, moved under `parent`; their ids in creation order.
    pub async fn accounts(&self, parent: &str, n: usize, name: &str) -> Vec<String> {
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let created = self
                .client
                .create_account()
                .email(format!("{name}-{i}@example.com"))
                .account_name(format!("{name}-{i}"))
                .send()
                .await
                .expect("CreateAccount");
            let id = created.create_account_status().and_then(|s| s.account_id()).expect("account id").to_string();
            if parent != self.root {
                self.move_account(&id, &self.root, parent).await;
            }
            ids.push(id);
        }
        ids
    }

    pub async fn move_account(&self, account: &str, from: &str, to: &str) {
        self.client.move_account().account_id(account).source_parent_id(from).destination_parent_id(to).send().await.expect("MoveAccount");
    }

    pub async fn close_account(&self, account: &str) {
        self.client.close_account().account_id(account).send().await.expect("CloseAccount");
    }

    pub async fn tag_account(&self, account: &str, key: &str, value: &str) {
        let tag = Tag::builder().key(key).value(value).build().expect("a tag");
        self.client.tag_resource().resource_id(account).tags(tag).send().await.expect("TagResource");
    }
}
