//! Status, condition and cost of the ssmAccess area.

use crate::api::conditions::{self, ConditionUpdate, reason};
use crate::api::{AreaCost, AreaName, KeyPairCounts, SsmAccessStatus, SsmInstanceCounts, SsmInstanceStatus, SsmPermissionStatus, usd};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::CostPolicyStatus;
use crate::engine::areas::SsmAccess;
use crate::engine::{AreaKind, AreaOutcome, Report, Run};
use crate::plan::ssm_access::{FindingKind, Fix, InstanceState, SsmAccessChange, SsmAccessPlan};

pub const AREA: &str = AreaName::SsmAccess.key();
const BASIS: &str = "no direct cost: a security practice (security group rules, instance profiles and key pairs are free)";
const MAX_LISTED: usize = 20;

impl Report for SsmAccess {
    fn status_of(status: &CostPolicyStatus) -> Option<&Self::Status> {
        status.ssm_access.as_ref()
    }

    fn status_slot(status: &mut CostPolicyStatus) -> &mut Option<Self::Status> {
        &mut status.ssm_access
    }

    fn findings(status: &Self::Status) -> u32 {
        status.findings
    }

    fn details(plan: &Self::Plan, outcome: &AreaOutcome<Self>, previous: Option<&Self::Status>, _now: &Time) -> (Self::Status, AreaCost) {
        details(plan, outcome, previous)
    }

    fn condition(outcome: &AreaOutcome<Self>, status: Option<&Self::Status>, audit: bool) -> ConditionUpdate {
        condition(outcome, status, audit)
    }

    fn conflict_message(others: &[&str], _outcome: &AreaOutcome<Self>) -> String {
        format!("{} governs the same security groups and instances as CostPolicy {}", Self::NAME, others.join(", "))
    }
}

/// What happened to the change that fixes rule `rule_id`: None when not attempted.
fn rule_outcome(outcome: &AreaOutcome<SsmAccess>, rule_id: &str) -> Option<bool> {
    outcome.results.iter().find_map(|r| match &r.change {
        SsmAccessChange::RevokeIngress { rule, .. } | SsmAccessChange::SplitIngress { rule, .. } if rule.rule_id == rule_id => {
            Some(r.outcome.as_ref().err().is_none_or(|e| !SsmAccess::is_failure(&r.change, e)))
        }
        _ => None,
    })
}

fn succeeded(outcome: &AreaOutcome<SsmAccess>, wanted: impl Fn(&SsmAccessChange) -> bool) -> u32 {
    outcome
        .results
        .iter()
        .filter(|r| wanted(&r.change) && r.outcome.as_ref().err().is_none_or(|e| !SsmAccess::is_failure(&r.change, e)))
        .count() as u32
}

/// The area's status block and cost, from the run and the previous status (for totals).
fn details(plan: &SsmAccessPlan, outcome: &AreaOutcome<SsmAccess>, previous: Option<&SsmAccessStatus>) -> (SsmAccessStatus, AreaCost) {
    let mut permissions = Vec::new();
    let (mut ssh_revoked, mut ssh_split, mut all_revoked, mut open_permissions) = (0, 0, 0, 0);
    for finding in &plan.permissions {
        let result = rule_outcome(outcome, &finding.rule.rule_id);
        let label = match (finding.fix, result) {
            (Fix::Report, _) => "Reported",
            (_, None) => "Planned",
            (_, Some(false)) => "Failed",
            (Fix::Revoke, Some(true)) => "Revoked",
            (Fix::Split, Some(true)) => "Split",
        };
        match (finding.kind, label) {
            (FindingKind::WorldSsh, "Revoked") => ssh_revoked += 1,
            (FindingKind::WorldSsh, "Split") => ssh_split += 1,
            (FindingKind::AllTrafficFromWorld, "Revoked") => all_revoked += 1,
            _ => open_permissions += 1,
        }
        permissions.push(SsmPermissionStatus {
            group_id: finding.group_id.clone(),
            rule_id: finding.rule.rule_id.clone(),
            permission: format!("{} from {}", finding.rule.permission(), finding.rule.source),
            kind: format!("{:?}", finding.kind),
            outcome: label.to_string(),
        });
    }

    let attached: Vec<&str> = outcome
        .results
        .iter()
        .filter(|r| r.outcome.is_ok())
        .filter_map(|r| match &r.change {
            SsmAccessChange::AttachInstanceProfile { instance_id, .. } => Some(instance_id.as_str()),
            _ => None,
        })
        .collect();
    let mut counts =
        SsmInstanceCounts { in_scope: plan.instances.len() as u32, attached_last_run: attached.len() as u32, ..Default::default() };
    let mut unmanaged = Vec::new();
    for instance in &plan.instances {
        let fixed = attached.contains(&instance.instance_id.as_str());
        let with_configured = instance.configured_profile && (instance.profile.is_some() || fixed);
        if with_configured {
            counts.profile_attached_by_us += 1;
        }
        let state = match instance.state {
            InstanceState::Managed => {
                counts.managed += 1;
                continue;
            }
            // Attached now: SSM lists it once its agent picks the credentials up.
            InstanceState::NoProfile if fixed => {
                counts.not_reporting += 1;
                continue;
            }
            InstanceState::NoProfile => {
                counts.no_profile += 1;
                "NoProfile"
            }
            InstanceState::ProfileWithoutSsmPolicy => {
                counts.profile_without_ssm_policy += 1;
                "ProfileWithoutSsmPolicy"
            }
            InstanceState::NotReporting => {
                counts.not_reporting += 1;
                "NotReporting"
            }
            InstanceState::NotOnline => {
                counts.not_online += 1;
                "NotOnline"
            }
        };
        unmanaged.push(SsmInstanceStatus {
            instance_id: instance.instance_id.clone(),
            state: state.to_string(),
            instance_profile: instance.profile.clone(),
            ping_status: instance.ping_status.clone(),
        });
    }

    let deleted: Vec<&str> = outcome
        .results
        .iter()
        .filter(|r| r.outcome.as_ref().err().is_none_or(|e| !SsmAccess::is_failure(&r.change, e)))
        .filter_map(|r| match &r.change {
            SsmAccessChange::DeleteKeyPair { key_name, .. } => Some(key_name.as_str()),
            _ => None,
        })
        .collect();
    let unused: Vec<String> =
        plan.unused_key_pairs().filter(|k| !deleted.contains(&k.key_name.as_str())).map(|k| k.key_name.clone()).collect();
    let failed_other = outcome
        .failed_changes()
        .filter(|(c, _)| matches!(c, SsmAccessChange::CreateInstanceProfile { .. } | SsmAccessChange::SetDefaultHostManagementRole { .. }))
        .count() as u32;
    let findings = open_permissions
        + unmanaged.len() as u32
        + unused.len() as u32
        + u32::from(plan.configured_profile_missing)
        + u32::from(plan.configured_profile_conflict.is_some())
        + u32::from(plan.default_host_management_problem.is_some())
        + failed_other;

    let permissions_not_listed = permissions.len().saturating_sub(MAX_LISTED) as u32;
    permissions.truncate(MAX_LISTED);
    let instances_not_listed = unmanaged.len().saturating_sub(MAX_LISTED) as u32;
    unmanaged.truncate(MAX_LISTED);
    let dhmc_set = succeeded(outcome, |c| matches!(c, SsmAccessChange::SetDefaultHostManagementRole { .. })) > 0;
    let default_host_management_role = match plan.drift.iter().find_map(|c| match c {
        SsmAccessChange::SetDefaultHostManagementRole { role, .. } if dhmc_set => Some(role.clone()),
        _ => None,
    }) {
        Some(role) => Some(role),
        None => plan.default_host_management_role.clone(),
    };
    let status = SsmAccessStatus {
        findings,
        security_groups_in_scope: plan.groups_in_scope,
        world_ssh_found: plan.count(FindingKind::WorldSsh),
        world_ssh_revoked: ssh_revoked,
        world_ssh_split: ssh_split,
        all_traffic_from_world_found: plan.count(FindingKind::AllTrafficFromWorld),
        all_traffic_from_world_revoked: all_revoked,
        ssh_from_unlisted_cidrs: plan.count(FindingKind::SshFromUnlistedCidr),
        wide_ranges_from_world: plan.count(FindingKind::WideRangeFromWorld),
        permissions,
        permissions_not_listed,
        instances: counts,
        unmanaged_instances: unmanaged,
        instances_not_listed,
        instance_profile_missing: plan.configured_profile_missing,
        instance_profile_conflict: plan.configured_profile_conflict.clone(),
        default_host_management_role,
        default_host_management_problem: plan.default_host_management_problem.clone(),
        key_pairs: KeyPairCounts {
            total: plan.key_pairs.len() as u32,
            unused: unused.len() as u32,
            deleted_last_run: deleted.len() as u32,
            deleted_total: previous.map(|p| p.key_pairs.deleted_total).unwrap_or(0) + deleted.len() as u64,
        },
        unused_key_pairs_not_listed: unused.len().saturating_sub(MAX_LISTED) as u32,
        unused_key_pairs: unused.into_iter().take(MAX_LISTED).collect(),
    };
    let cost = AreaCost {
        area: AREA.to_string(),
        monthly_waste_usd: usd(0.0),
        monthly_savings_usd: usd(0.0),
        monthly_cost_usd: usd(0.0),
        basis: BASIS.to_string(),
        measured: None,
    };
    (status, cost)
}

/// The area's condition; `status` is what `details` computed for a planned area.
fn condition(outcome: &AreaOutcome<SsmAccess>, status: Option<&SsmAccessStatus>, audit: bool) -> ConditionUpdate {
    let type_ = conditions::SSM_ACCESS_IN_SYNC;
    let (plan, status) = match super::observed_without_failures(type_, outcome, status) {
        Ok(judged) => judged,
        Err(condition) => return condition,
    };
    let conflict: String = [&status.instance_profile_conflict, &status.default_host_management_problem]
        .into_iter()
        .flatten()
        .map(|problem| format!("; {problem}"))
        .collect();
    let summary = format!(
        "world-open SSH permissions: {}, all-traffic permissions from the world: {}, ranges split around 22 still open to the world: {}, instances not managed by SSM: {} of {} ({} listed but not Online), unused key pairs: {}{conflict}",
        status.world_ssh_found,
        status.all_traffic_from_world_found,
        status.wide_ranges_from_world,
        status.instances.in_scope - status.instances.managed,
        status.instances.in_scope,
        status.instances.not_online,
        plan.unused_key_pairs().count()
    );
    if audit && (!plan.drift.is_empty() || status.findings > 0) {
        return ConditionUpdate::new(
            type_,
            false,
            reason::DRIFT_FOUND,
            format!("Audit mode: {summary}; {} changes planned, nothing was changed", plan.drift.len()),
        );
    }
    let open = if status.findings > 0 {
        format!("; {} findings reported, not changed by the spec{conflict}", status.findings)
    } else {
        String::new()
    };
    if outcome.results.is_empty() {
        ConditionUpdate::new(
            type_,
            true,
            reason::IN_SYNC,
            format!("security groups checked: {}, instances checked: {}{open}", status.security_groups_in_scope, status.instances.in_scope),
        )
    } else {
        ConditionUpdate::new(
            type_,
            true,
            reason::RECONCILED,
            format!(
                "world-open SSH permissions revoked: {}, split: {}; all-traffic permissions revoked: {}; profiles attached: {}; key pairs deleted: {}{open}",
                status.world_ssh_revoked,
                status.world_ssh_split,
                status.all_traffic_from_world_revoked,
                status.instances.attached_last_run,
                status.key_pairs.deleted_last_run
            ),
        )
    }
}
