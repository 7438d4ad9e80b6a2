//! Events of the ssmAccess area: one per kind of change per run, Warnings for failures.

use kube::runtime::events::{Event, EventType};

use crate::engine::areas::SsmAccess;
use crate::engine::{AreaOutcome, Publish, Run};
use crate::metrics::Metrics;
use crate::plan::ssm_access::SsmAccessChange;

use super::{by_kind, observation_failed};

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
        if let Some(event) = observation_failed(outcome, "nothing was changed") {
            return vec![event];
        }
        by_kind(outcome.results.iter().map(|result| {
            let (reason, action) = kind(&result.change);
            match &result.outcome {
                Err(error) if Self::is_failure(&result.change, error) => {
                    (EventType::Warning, "ActionFailed", action, format!("{}: {error}", result.change.describe()))
                }
                _ => (EventType::Normal, reason, action, result.change.describe()),
            }
        }))
    }

    fn record(_metrics: &Metrics, _policy: &str, _status: &Self::Status) {}
}
