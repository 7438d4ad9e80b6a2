//! The in-memory account's Compute Optimizer: its enrollment and recommendations.

use async_trait::async_trait;

use super::{CloudCall, FakeCloud, lock};
use crate::api::validate::{RightSizingDesired, ValidatedPolicy};
use crate::engine::areas::RightSizing;
use crate::engine::{AreaCloud, CloudError};
use crate::plan::right_sizing::{Enrollment, RightSizingChange, RightSizingInventory};

#[async_trait]
impl AreaCloud<RightSizing> for FakeCloud {
    /// The enrollment, and the recommendations of the kinds asked for, only when enrolled
    /// (AWS refuses them otherwise), as the real adapter.
    async fn observe(&self, _policy: &ValidatedPolicy, desired: &RightSizingDesired) -> Result<RightSizingInventory, CloudError> {
        self.record(CloudCall::ObserveRightSizing);
        let mut inventory = lock(&self.account).right_sizing.clone();
        if inventory.enrollment == Enrollment::Active {
            inventory.recommendations.retain(|r| desired.resources.contains(&r.kind));
        } else {
            inventory.recommendations.clear();
        }
        Ok(inventory)
    }

    /// UpdateEnrollmentStatus: the account is Active at once, as AWS answers for one account.
    async fn apply(&self, _policy: &str, change: &RightSizingChange) -> Result<Option<String>, CloudError> {
        self.record(CloudCall::RightSizingChange(change.describe()));
        self.failure("UpdateEnrollmentStatus")?;
        let mut account = lock(&self.account);
        let RightSizingChange::Enroll { include_member_accounts } = change;
        account.right_sizing.enrollment = Enrollment::Active;
        account.right_sizing.member_accounts_enrolled |= *include_member_accounts;
        Ok(Some(Enrollment::Active.as_str().to_string()))
    }
}
