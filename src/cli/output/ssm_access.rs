//! `frugal plan` rendering of the ssmAccess area: each security group change as a before/after
//! of the exact permission.

use std::fmt::Write;

use serde_json::json;

use crate::engine::areas::SsmAccess;
use crate::engine::{AreaOutcome, Output, PlanCounts};
use crate::plan::ssm_access::{FindingKind, Fix, InstanceState, SsmAccessChange, SsmAccessPlan};

use super::{AreaJson, results_json};

const MAX_LISTED: usize = 20;

impl Output for SsmAccess {
    fn plan_section(out: &mut String, plan: &Self::Plan) -> PlanCounts {
        ssm_table(out, plan);
        let mut counts = PlanCounts::default();
        for c in &plan.drift {
            match c {
                SsmAccessChange::CreateInstanceProfile { .. } | SsmAccessChange::AttachInstanceProfile { .. } => counts.create += 1,
                SsmAccessChange::SplitIngress { .. } | SsmAccessChange::SetDefaultHostManagementRole { .. } => counts.change += 1,
                SsmAccessChange::RevokeIngress { .. } | SsmAccessChange::DeleteKeyPair { .. } => counts.destroy += 1,
            }
        }
        counts
    }

    fn describe(change: &Self::Change) -> String {
        change.describe()
    }

    fn objects(_change: &Self::Change) -> usize {
        1
    }

    type Json<'a> = AreaJson<serde_json::Value>;

    fn json(outcome: &AreaOutcome<Self>) -> Self::Json<'_> {
        AreaJson::of(outcome, |plan| {
            json!({
                "drift": plan.drift,
                "permissions": plan.permissions,
                "instances": plan.instances,
                "keyPairs": plan.key_pairs,
                "results": results_json(&outcome.results),
            })
        })
    }
}

fn ssm_table(out: &mut String, plan: &SsmAccessPlan) {
    let _ = writeln!(
        out,
        "ssmAccess: {} in scope, {}",
        counted(plan.groups_in_scope as usize, "security group"),
        counted(plan.key_pairs.len(), "key pair"),
    );
    let managed = plan.instances_in(InstanceState::Managed);
    let _ = writeln!(out, "  {} in scope, {managed} managed by SSM", counted(plan.instances.len(), "instance"));
    for change in &plan.drift {
        let mark = match change {
            SsmAccessChange::RevokeIngress { .. } | SsmAccessChange::DeleteKeyPair { .. } => "-",
            SsmAccessChange::SplitIngress { .. } | SsmAccessChange::SetDefaultHostManagementRole { .. } => "~",
            SsmAccessChange::CreateInstanceProfile { .. } | SsmAccessChange::AttachInstanceProfile { .. } => "+",
        };
        let _ = writeln!(out, "  {mark} {}", change.describe());
    }
    let reported: Vec<_> = plan.permissions.iter().filter(|p| p.fix == Fix::Report).collect();
    for finding in reported.iter().take(MAX_LISTED) {
        let why = match finding.kind {
            FindingKind::WideRangeFromWorld => " (split around 22: its other ports stay open to the world)",
            FindingKind::WorldSsh | FindingKind::AllTrafficFromWorld | FindingKind::SshFromUnlistedCidr => "",
        };
        let _ = writeln!(
            out,
            "  ! {} ingress {} from {} [{}]: {:?}{why}, reported only",
            finding.group_id,
            finding.rule.permission(),
            finding.rule.source,
            finding.rule.rule_id,
            finding.kind
        );
    }
    if reported.len() > MAX_LISTED {
        let _ = writeln!(out, "    ... and {} more", reported.len() - MAX_LISTED);
    }
    let unmanaged: Vec<_> = plan.instances.iter().filter(|i| i.state != InstanceState::Managed).collect();
    for instance in unmanaged.iter().take(MAX_LISTED) {
        let profile = instance.profile.as_deref().map(|p| format!(" (profile {p})")).unwrap_or_default();
        let ping = instance.ping_status.as_deref().map(|p| format!(" (PingStatus {p})")).unwrap_or_default();
        let _ = writeln!(out, "  ! {}{profile}: {}{ping}", instance.instance_id, why_not_managed(instance.state));
    }
    if unmanaged.len() > MAX_LISTED {
        let _ = writeln!(out, "    ... and {} more", unmanaged.len() - MAX_LISTED);
    }
    if let Some(conflict) = &plan.configured_profile_conflict {
        let _ = writeln!(out, "  ! {conflict}");
    }
    if plan.configured_profile_missing {
        let _ = writeln!(out, "  ! the configured instance profile does not exist and instanceProfile.create is false");
    }
    let unused: Vec<&str> = plan.unused_key_pairs().map(|k| k.key_name.as_str()).collect();
    if !unused.is_empty() {
        let _ = writeln!(
            out,
            "  = unused key pairs ({}): {}",
            unused.len(),
            unused.iter().take(MAX_LISTED).copied().collect::<Vec<_>>().join(", ")
        );
    }
}

fn counted(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

fn why_not_managed(state: InstanceState) -> &'static str {
    match state {
        InstanceState::Managed => "managed by SSM",
        InstanceState::NotOnline => "SSM lists it, but not Online",
        InstanceState::NoProfile => "no instance profile, so SSM cannot manage it",
        InstanceState::ProfileWithoutSsmPolicy => "its instance profile's role does not grant SSM management",
        InstanceState::NotReporting => "its profile grants SSM, but SSM does not list it (agent or network path missing)",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::api::KeyPairPolicy;
    use crate::api::validate::{SecurityGroupScope, SsmAccessDesired};
    use crate::plan::ssm_access::{IngressRule, Instance, SecurityGroup, Source, SsmAccessInventory, plan};

    #[test]
    fn the_table_shows_each_permission_before_and_after() {
        let desired = SsmAccessDesired {
            revoke_world_ssh: true,
            revoke_all_traffic_from_world: false,
            allowed_ssh_cidrs: vec![],
            security_groups: SecurityGroupScope::Tags(BTreeMap::new()),
            instances: None,
            instance_profile: None,
            default_host_management_role: None,
            key_pairs: KeyPairPolicy::Report,
        };
        let rule = |id: &str, protocol: &str, from, to| IngressRule {
            rule_id: id.into(),
            protocol: protocol.into(),
            from_port: from,
            to_port: to,
            source: Source::Ipv4("0.0.0.0/0".into()),
            description: None,
        };
        let inventory = SsmAccessInventory {
            security_groups: vec![SecurityGroup {
                id: "sg-1".into(),
                ingress: vec![rule("sgr-1", "tcp", 0, 65535), rule("sgr-2", "-1", -1, -1)],
                ..Default::default()
            }],
            instances: vec![Instance {
                id: "i-1".into(),
                state: "running".into(),
                security_group_ids: vec!["sg-1".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut out = String::new();
        ssm_table(&mut out, &plan("p", &desired, &inventory, false));
        assert!(out.contains("~ sg-1 ingress tcp 0-65535 from 0.0.0.0/0  →  tcp 0-21, tcp 23-65535 from 0.0.0.0/0 [sgr-1]"), "{out}");
        assert!(out.contains("! sg-1 ingress all traffic from 0.0.0.0/0 [sgr-2]: AllTrafficFromWorld, reported only"), "{out}");
        assert!(out.starts_with("ssmAccess: 1 security group in scope, 0 key pairs\n  1 instance in scope, 0 managed by SSM\n"), "{out}");
        assert!(out.contains("  ! i-1: no instance profile, so SSM cannot manage it\n"), "{out}");
    }
}
