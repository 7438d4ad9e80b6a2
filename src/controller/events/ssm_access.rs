//! Events of the ssmAccess area: one per kind of change per run, Warnings for failures.

use kube::runtime::events::Event;

use crate::engine::areas::SsmAccess;
use crate::engine::{AreaOutcome, Publish};
use crate::metrics::Metrics;
use crate::plan::ssm_access::SsmAccessChange;

use super::per_change;

/// (reason, action) of a successful change.
fn kind(change: &SsmAccessChange) -> (&'static str, &'static str) {
    match change {
        SsmAccessChange::RevokeIngress { .. } => ("WorldSshRevoked", "RevokeSecurityGroupIngress"),
        SsmAccessChange::SplitIngress { .. } => ("WorldSshSplit", "AuthorizeSecurityGroupIngress"),
        SsmAccessChange::CreateInstanceProfile { .. } => ("InstanceProfileCreated", "CreateInstanceProfile"),
        SsmAccessChange::AttachInstanceProfile { .. } => ("InstanceProfileAttached", "AssociateIamInstanceProfile"),
        SsmAccessChange::SetDefaultHostManagementRole { .. } => ("DefaultHostManagementSet", "UpdateServiceSetting"),
        SsmAccessChange::DeleteKeyPair { .. } => ("KeyPairsDeleted", "DeleteKeyPair"),
    }
}

impl Publish for SsmAccess {
    fn events(outcome: &AreaOutcome<Self>) -> Vec<Event> {
        per_change(outcome, kind)
    }

    fn record(_metrics: &Metrics, _policy: &str, _status: &Self::Status) {}
}
