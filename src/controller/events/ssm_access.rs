//! Events of the ssmAccess area: one per kind of change per run, Warnings for failures.

use kube::runtime::events::{Event, EventType};

use crate::engine::{AreaOutcome, AreaPlan, Change};
use crate::plan::ssm_access::{SsmAccessChange, SsmAccessPlan};

use super::{truncate, warning};

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

pub fn ssm_events(area: &AreaOutcome<SsmAccessPlan, SsmAccessChange>, events: &mut Vec<Event>) {
    if let AreaPlan::ObservationFailed(error) = &area.plan {
        events.push(warning("ObservationFailed", "Observe", format!("ssmAccess: {error}; nothing was changed")));
        return;
    }
    let mut kinds: Vec<(EventType, &str, &str, Vec<String>)> = Vec::new();
    for result in &area.results {
        let (reason, action) = kind(&result.change);
        let (type_, reason, line) = match &result.outcome {
            Err(error) if result.change.is_failure(error) => {
                (EventType::Warning, "ActionFailed", format!("{}: {error}", result.change.describe()))
            }
            _ => (EventType::Normal, reason, result.change.describe()),
        };
        match kinds.iter_mut().find(|(t, r, a, _)| *t == type_ && *r == reason && *a == action) {
            Some((_, _, _, lines)) => lines.push(line),
            None => kinds.push((type_, reason, action, vec![line])),
        }
    }
    events.extend(kinds.into_iter().map(|(type_, reason, action, lines)| Event {
        type_,
        reason: reason.to_string(),
        note: Some(truncate(lines.join("; "))),
        action: action.to_string(),
        secondary: None,
    }));
}
