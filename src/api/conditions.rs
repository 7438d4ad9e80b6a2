//! Condition types and reasons (positive polarity, CamelCase), and the rule that
//! `lastTransitionTime` moves only when a condition's status changes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::AreaName;

pub const READY: &str = "Ready";
pub const RECONCILING: &str = "Reconciling";
pub const STALLED: &str = "Stalled";
pub const GATEWAY_ENDPOINTS_IN_SYNC: &str = AreaName::GatewayEndpoints.condition_type();
pub const SNAPSHOTS_IN_SYNC: &str = AreaName::SnapshotRetention.condition_type();
pub const SSM_ACCESS_IN_SYNC: &str = AreaName::SsmAccess.condition_type();
pub const BACKUP_IN_SYNC: &str = AreaName::Backup.condition_type();
pub const ACCESS_KEYS_IN_SYNC: &str = AreaName::AccessKeys.condition_type();
pub const RIGHT_SIZING_IN_SYNC: &str = AreaName::RightSizing.condition_type();
pub const CLOUD_WATCH_IN_SYNC: &str = AreaName::CloudWatch.condition_type();

/// Reasons, shared by all condition types.
pub mod reason {
    /// Everything the area asks for is in place.
    pub const IN_SYNC: &str = "InSync";
    /// The operator changed AWS in this reconcile and everything it planned succeeded.
    pub const RECONCILED: &str = "Reconciled";
    /// Audit mode found drift and changed nothing.
    pub const DRIFT_FOUND: &str = "DriftFound";
    /// Reading the account failed; nothing was changed in this area.
    pub const OBSERVATION_FAILED: &str = "ObservationFailed";
    /// At least one planned change failed.
    pub const ACTION_FAILED: &str = "ActionFailed";
    /// The spec cannot be acted on; the message names the field.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// aws.roleArn is not allowed by the operator's --allowed-role-arns.
    pub const ROLE_NOT_ALLOWED: &str = "RoleNotAllowed";
    /// Credentials for the account could not be obtained.
    pub const AWS_ACCESS_FAILED: &str = "AwsAccessFailed";
    /// An area is not in sync (Ready only).
    pub const AREAS_NOT_IN_SYNC: &str = "AreasNotInSync";
    /// The last run failed and will be retried (Reconciling only).
    pub const RETRYING: &str = "Retrying";
    /// Expired snapshots are tagged and wait for their grace period, or exceed the cap.
    pub const DELETION_PENDING: &str = "DeletionPending";
    /// Unused access keys are marked on their users and wait for their grace period.
    pub const DEACTIVATION_PENDING: &str = "DeactivationPending";
    /// Compute Optimizer sets up the account's enrollment (AWS's Pending state).
    pub const ENROLLMENT_PENDING: &str = "EnrollmentPending";
    /// Compute Optimizer found resources worth resizing: a person's decision, never the
    /// operator's.
    pub const OPPORTUNITIES_FOUND: &str = "OpportunitiesFound";
    /// The account is enrolled and Compute Optimizer has no recommendation yet (they take up
    /// to a day after enrolling): nothing is known to be worth doing, which is not "optimized".
    pub const NO_RECOMMENDATIONS_YET: &str = "NoRecommendationsYet";
    /// The account is not enrolled in Compute Optimizer and the policy does not enroll it.
    pub const NOT_ENROLLED: &str = "NotEnrolled";
    /// Reasons of an area that did what it could this run and waits (for a grace period, for
    /// AWS, or for a person): not in sync, but not a reason for Ready to be False.
    pub const PENDING: [&str; 4] = [DELETION_PENDING, DEACTIVATION_PENDING, ENROLLMENT_PENDING, OPPORTUNITIES_FOUND];
    /// The backup vault the spec names does not exist and the spec does not create it.
    pub const VAULT_MISSING: &str = "VaultMissing";
    /// A backup plan of the spec's name exists that this policy did not create and does not adopt.
    pub const PLAN_NOT_OWNED: &str = "PlanNotOwned";
    /// Resources carrying the required tags are not covered by the backup selection.
    pub const COVERAGE_GAP: &str = "CoverageGap";
    /// Another policy governs the same snapshots or VPCs; the stricter safety wins until a
    /// human makes the scopes disjoint.
    pub const CONFLICT: &str = "Conflict";
    /// Nothing blocks progress (Stalled=False, Reconciling=False).
    pub const IDLE: &str = "Idle";
}

pub const TRUE: &str = "True";
pub const FALSE: &str = "False";

/// A condition before its timestamps are settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionUpdate {
    pub type_: &'static str,
    pub status: bool,
    pub reason: &'static str,
    pub message: String,
}

impl ConditionUpdate {
    pub fn new(type_: &'static str, status: bool, reason: &'static str, message: impl Into<String>) -> Self {
        Self { type_, status, reason, message: message.into() }
    }
}

/// Builds the new condition list from the previous one: lastTransitionTime is kept when the
/// status of a type did not change. Conditions of types not in `updates` are dropped (an area
/// removed from the spec no longer reports).
pub fn merge(previous: &[Condition], updates: Vec<ConditionUpdate>, generation: Option<i64>, now: &Time) -> Vec<Condition> {
    updates
        .into_iter()
        .map(|update| {
            let status = if update.status { TRUE } else { FALSE }.to_string();
            let last_transition_time = previous
                .iter()
                .find(|c| c.type_ == update.type_ && c.status == status)
                .map(|c| c.last_transition_time.clone())
                .unwrap_or_else(|| now.clone());
            Condition {
                type_: update.type_.to_string(),
                status,
                reason: update.reason.to_string(),
                message: update.message,
                observed_generation: generation,
                last_transition_time,
            }
        })
        .collect()
}

/// Finds a condition by type.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}
