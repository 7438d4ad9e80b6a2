//! accessKeys: IAM users, their access keys with their last use, and user tags (IAM is
//! global: one read serves every region of the account); the caller's identity.

use aws_sdk_iam::types::{StatusType, Tag};

use crate::api::validate::{AccessKeysDesired, ValidatedPolicy};
use crate::engine::AreaCloud;
use crate::engine::areas::AccessKeys;
use crate::engine::{CloudError, ErrorKind};
use crate::plan::access_keys::{AccessKey, AccessKeysChange, AccessKeysInventory, IamUser, LastUse};

use super::AwsCloud;
use super::error::{classify, done_if_gone};
use super::pacing::PaceClass;

/// What GetAccessKeyLastUsed says for the service and region of a key never used.
const NOT_AVAILABLE: &str = "N/A";

#[async_trait::async_trait]
impl AreaCloud<AccessKeys> for AwsCloud {
    async fn observe(&self, _policy: &ValidatedPolicy, _desired: &AccessKeysDesired) -> Result<AccessKeysInventory, CloudError> {
        let caller_arn = self.cached_global("GetCallerIdentity".to_string(), self.caller_arn()).await?;
        let users = self.cached_global("IAM users and access keys".to_string(), self.iam_users()).await?;
        Ok(AccessKeysInventory { users, caller_arn })
    }

    async fn apply(&self, _policy: &str, change: &AccessKeysChange) -> Result<Option<String>, CloudError> {
        self.mutating(self.apply_access_keys_change(change)).await
    }
}

impl AwsCloud {
    async fn caller_arn(&self) -> Result<String, CloudError> {
        self.pace(PaceClass::NonMutating).await;
        let identity = self.clients.sts().get_caller_identity().send().await.map_err(|e| classify("GetCallerIdentity", e))?;
        identity.arn.ok_or_else(|| CloudError::new("GetCallerIdentity", ErrorKind::Credentials, "no ARN in the answer"))
    }

    /// Every user with its tags and keys; a user deleted while it is read is left out.
    async fn iam_users(&self) -> Result<Vec<IamUser>, CloudError> {
        let mut names = Vec::new();
        let mut pages = self.paced(self.clients.iam().list_users().into_paginator().send()).await;
        while let Some(page) = pages.next().await {
            names.extend(page.map_err(|e| classify("ListUsers", e))?.users().iter().map(|u| u.user_name().to_string()));
        }
        let mut users = Vec::new();
        for name in names {
            match self.iam_user(&name).await {
                Ok(user) => users.push(user),
                Err(error) if error.kind == ErrorKind::NotFound => tracing::info!(user = %name, %error, "user deleted while read"),
                Err(error) => return Err(error),
            }
        }
        Ok(users)
    }

    async fn iam_user(&self, name: &str) -> Result<IamUser, CloudError> {
        let mut tags = crate::plan::Tags::new();
        let mut pages = self.paced(self.clients.iam().list_user_tags().user_name(name).into_paginator().send()).await;
        while let Some(page) = pages.next().await {
            tags.extend(page.map_err(|e| classify("ListUserTags", e))?.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())));
        }
        let mut metadata = Vec::new();
        let mut pages = self.paced(self.clients.iam().list_access_keys().user_name(name).into_paginator().send()).await;
        while let Some(page) = pages.next().await {
            metadata.extend(page.map_err(|e| classify("ListAccessKeys", e))?.access_key_metadata().to_vec());
        }
        let mut keys = Vec::new();
        for key in metadata {
            let Some(id) = key.access_key_id() else { continue };
            keys.push(AccessKey {
                id: id.to_string(),
                active: key.status() == Some(&StatusType::Active),
                created: key.create_date().map_or(0, |d| d.secs()),
                last_used: self.last_used(id).await?,
            });
        }
        Ok(IamUser { name: name.to_string(), tags, keys })
    }

    /// None when the key was never used: AWS then has no LastUsedDate (and says N/A for the
    /// service and region).
    async fn last_used(&self, access_key_id: &str) -> Result<Option<LastUse>, CloudError> {
        self.pace(PaceClass::NonMutating).await;
        let answer = self
            .clients
            .iam()
            .get_access_key_last_used()
            .access_key_id(access_key_id)
            .send()
            .await
            .map_err(|e| classify("GetAccessKeyLastUsed", e))?;
        let known = |s: &str| (!s.is_empty() && s != NOT_AVAILABLE).then(|| s.to_string());
        Ok(answer.access_key_last_used().and_then(|u| {
            u.last_used_date().map(|at| LastUse { at: at.secs(), service: known(u.service_name()), region: known(u.region()) })
        }))
    }

    async fn apply_access_keys_change(&self, change: &AccessKeysChange) -> Result<Option<String>, CloudError> {
        match change {
            AccessKeysChange::MarkUser { user_name, tag_key, tag_value, .. } => {
                let tag = Tag::builder()
                    .key(tag_key)
                    .value(tag_value)
                    .build()
                    .map_err(|e| CloudError::new("TagUser", ErrorKind::InvalidRequest, e.to_string()))?;
                self.pace(PaceClass::Mutating).await;
                self.clients.iam().tag_user().user_name(user_name).tags(tag).send().await.map_err(|e| classify("TagUser", e))?;
            }
            AccessKeysChange::DeactivateKey { user_name, access_key_id, mark, .. } => {
                self.pace(PaceClass::Mutating).await;
                self.clients
                    .iam()
                    .update_access_key()
                    .user_name(user_name)
                    .access_key_id(access_key_id)
                    .status(StatusType::Inactive)
                    .send()
                    .await
                    .map_err(|e| classify("UpdateAccessKey", e))?;
                if let Some(mark) = mark {
                    self.untag_user(user_name, std::slice::from_ref(mark)).await?;
                }
            }
            AccessKeysChange::UnmarkUser { user_name, tag_keys } => self.untag_user(user_name, tag_keys).await?,
        }
        Ok(None)
    }

    /// Removing a mark of a user that is gone is done.
    async fn untag_user(&self, user_name: &str, tag_keys: &[String]) -> Result<(), CloudError> {
        self.pace(PaceClass::Mutating).await;
        let removed = self.clients.iam().untag_user().user_name(user_name).set_tag_keys(Some(tag_keys.to_vec())).send().await;
        done_if_gone(removed.map_err(|e| classify("UntagUser", e)))
    }
}
