//! The in-memory account's IAM users, their access keys and tags.

use async_trait::async_trait;

use super::{CloudCall, FakeCloud, lock};
use crate::api::validate::{AccessKeysDesired, ValidatedPolicy};
use crate::engine::areas::AccessKeys;
use crate::engine::{AreaCloud, CloudError, ErrorKind};
use crate::plan::access_keys::{AccessKeysChange, AccessKeysInventory};

#[async_trait]
impl AreaCloud<AccessKeys> for FakeCloud {
    /// The account's users and keys: none unless a test seeds them.
    async fn observe(&self, _policy: &ValidatedPolicy, _desired: &AccessKeysDesired) -> Result<AccessKeysInventory, CloudError> {
        self.record(CloudCall::ObserveAccessKeys);
        Ok(self.access_keys())
    }

    /// TagUser, UpdateAccessKey (then UntagUser of its mark) or UntagUser, as the real adapter.
    async fn apply(&self, _policy: &str, change: &AccessKeysChange) -> Result<Option<String>, CloudError> {
        self.record(CloudCall::AccessKeysChange(change.describe()));
        let operation = match change {
            AccessKeysChange::MarkUser { .. } => "TagUser",
            AccessKeysChange::DeactivateKey { .. } => "UpdateAccessKey",
            AccessKeysChange::UnmarkUser { .. } => "UntagUser",
        };
        self.failure(operation)?;
        let mut account = lock(&self.account);
        let user = account.access_keys.users.iter_mut().find(|u| u.name == change.user_name());
        let user = user.ok_or_else(|| CloudError::new(operation, ErrorKind::NotFound, format!("user {} not found", change.user_name())))?;
        match change {
            AccessKeysChange::MarkUser { tag_key, tag_value, .. } => {
                user.tags.insert(tag_key.clone(), tag_value.clone());
            }
            AccessKeysChange::DeactivateKey { access_key_id, mark, .. } => {
                let key = user.keys.iter_mut().find(|k| &k.id == access_key_id);
                key.ok_or_else(|| CloudError::new(operation, ErrorKind::NotFound, format!("key {access_key_id} not found")))?.active =
                    false;
                if let Some(mark) = mark {
                    user.tags.remove(mark);
                }
            }
            AccessKeysChange::UnmarkUser { tag_keys, .. } => user.tags.retain(|k, _| !tag_keys.contains(k)),
        }
        Ok(None)
    }
}
