//! Human and JSON renderings of plans and results, in the spirit of `terraform plan`.

use std::fmt::Write;

use serde_json::json;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use crate::api::{AreaName, CostPolicyStatus, conditions};
use crate::engine::{AppliedRun, AreaPlan, ChangeResult, ErrorKind, PlannedRun};
use crate::plan::gateway_endpoints::{GatewayEndpointsPlan, Ownership};
use crate::plan::snapshot_retention::{Protection, SnapshotRetentionChange, SnapshotRetentionPlan, Verdict};

mod backup;
mod ssm_access;

/// At most this many snapshots are listed per verdict; the rest are counted.
const MAX_LISTED_SNAPSHOTS: usize = 20;

pub fn plan_table(planned: &PlannedRun) -> String {
    let policy = &planned.policy;
    let mut out = String::new();
    let _ = writeln!(out, "Policy {} ({:?} mode, region {})", policy.name, policy.mode, policy.aws.region);
    for conflict in &planned.conflicts {
        let _ =
            writeln!(out, "Conflict: {} governs what CostPolicy {} also governs; the stricter safety wins", conflict.area, conflict.other);
    }
    let (mut create, mut change, mut destroy) = (0, 0, 0);
    let mut waste = Vec::new();
    if let Some(area) = &planned.gateway_endpoints {
        let _ = writeln!(out);
        match area {
            AreaPlan::ObservationFailed(error) => observation_failed(&mut out, AreaName::GatewayEndpoints, error),
            AreaPlan::Planned(plan) => {
                gateway_table(&mut out, plan);
                create += plan.missing_endpoints();
                change += plan.drift.len() - plan.missing_endpoints();
                if plan.vpcs.iter().any(|v| v.nat_monthly_usd.is_some()) && !plan.drift.is_empty() {
                    waste.push(format!(
                        "NAT data processing in the VPCs with drift: ${:.2}/month (upper bound of the savings)",
                        plan.monthly_waste_usd()
                    ));
                }
            }
        }
    }
    if let Some(area) = &planned.snapshots {
        let _ = writeln!(out);
        match area {
            AreaPlan::ObservationFailed(error) => observation_failed(&mut out, AreaName::SnapshotRetention, error),
            AreaPlan::Planned(plan) => {
                snapshot_table(&mut out, plan);
                destroy += plan.deletions().count();
                change += plan
                    .drift
                    .iter()
                    .filter(|c| !matches!(c, SnapshotRetentionChange::Delete { .. }))
                    .map(SnapshotRetentionChange::snapshots)
                    .sum::<usize>();
                if plan.expired_gib > 0 {
                    waste.push(format!(
                        "Expired snapshots: {} GiB, up to ${:.2}/month (upper bound by volume size)",
                        plan.expired_gib,
                        plan.monthly_waste_usd()
                    ));
                }
            }
        }
    }
    if let Some(area) = &planned.ssm_access {
        let _ = writeln!(out);
        match area {
            AreaPlan::ObservationFailed(error) => observation_failed(&mut out, AreaName::SsmAccess, error),
            AreaPlan::Planned(plan) => {
                ssm_access::ssm_table(&mut out, plan);
                let (c, u, d) = ssm_access::counts(plan);
                create += c;
                change += u;
                destroy += d;
            }
        }
    }
    if let Some(area) = &planned.backup {
        let _ = writeln!(out);
        match area {
            AreaPlan::ObservationFailed(error) => observation_failed(&mut out, AreaName::Backup, error),
            AreaPlan::Planned(plan) => {
                backup::backup_table(&mut out, plan);
                let (c, u, d) = backup::counts(plan);
                create += c;
                change += u;
                destroy += d;
            }
        }
    }
    let _ = writeln!(out);
    for line in waste {
        let _ = writeln!(out, "{line}.");
    }
    if create + change + destroy == 0 {
        // Whether the account matches the policy is the status's verdict (status_summary).
        let _ = writeln!(out, "No changes.");
    } else {
        let verb = if policy.is_audit() { "Audit mode, nothing will change; Enforce would make" } else { "Plan:" };
        let _ = writeln!(out, "{verb} {create} to create, {change} to change, {destroy} to destroy.");
    }
    out
}

/// The Ready condition the operator would write and every area condition that is not True:
/// the verdict `kubectl get cpol` would show, so the CLI and the status never disagree.
pub fn status_summary(status: &CostPolicyStatus) -> String {
    let mut out = String::new();
    let mut line = |indent: &str, c: &Condition| {
        let message = if c.message.is_empty() { String::new() } else { format!(": {}", c.message) };
        let _ = writeln!(out, "{indent}{}={} ({}){message}", c.type_, c.status, c.reason);
    };
    if let Some(ready) = conditions::find(&status.conditions, conditions::READY) {
        line("", ready);
    }
    for area in conditions::AREAS {
        if let Some(condition) = conditions::find(&status.conditions, area).filter(|c| c.status != "True") {
            line("  ", condition);
        }
    }
    out
}

fn observation_failed(out: &mut String, area: AreaName, error: &crate::engine::CloudError) {
    let _ = writeln!(out, "{area}: cannot observe the account: {error}");
    let _ = writeln!(out, "  nothing will be changed in this area");
}

fn gateway_table(out: &mut String, plan: &GatewayEndpointsPlan) {
    let _ = writeln!(out, "gatewayEndpoints: {} VPCs in scope", plan.vpcs.len());
    for vpc in &plan.vpcs {
        let cost = vpc.nat_monthly_usd.map(|usd| format!(" (NAT data processing ${usd:.2}/month)")).unwrap_or_default();
        let _ = writeln!(out, "  {}{cost}", vpc.vpc_id);
        for service in &vpc.services {
            let owner = match service.ownership {
                Ownership::Managed => "managed",
                Ownership::Adopted => "adopted",
                Ownership::Missing => "missing",
            };
            match (&service.endpoint_id, service.route_tables_missing.is_empty()) {
                (Some(id), true) => {
                    let _ = writeln!(out, "    = {:<9} {id} ({owner}): in sync", service.service.as_str());
                }
                (Some(id), false) => {
                    let _ = writeln!(out, "    ~ {:<9} {id} ({owner}): add route tables", service.service.as_str());
                    for rt in &service.route_tables_missing {
                        let _ = writeln!(out, "        + {rt}");
                    }
                }
                (None, _) => {
                    let _ = writeln!(out, "    + {:<9} create gateway endpoint", service.service.as_str());
                    for rt in &service.route_tables_missing {
                        let _ = writeln!(out, "        + {rt}");
                    }
                }
            }
        }
    }
}

fn snapshot_table(out: &mut String, plan: &SnapshotRetentionPlan) {
    let _ = writeln!(out, "snapshotRetention: {} snapshots in scope, {} within retention", plan.evaluated, plan.retained);
    let list = |out: &mut String, mark: &str, title: &str, ids: Vec<&str>| {
        if ids.is_empty() {
            return;
        }
        let _ = writeln!(out, "  {mark} {title} ({}):", ids.len());
        for id in ids.iter().take(MAX_LISTED_SNAPSHOTS) {
            let _ = writeln!(out, "      {id}");
        }
        if ids.len() > MAX_LISTED_SNAPSHOTS {
            let _ = writeln!(out, "      ... and {} more", ids.len() - MAX_LISTED_SNAPSHOTS);
        }
    };
    let with =
        |wanted: fn(&Verdict) -> bool| plan.verdicts.iter().filter(|(_, v)| wanted(v)).map(|(id, _)| id.as_str()).collect::<Vec<_>>();
    for change in &plan.drift {
        match change {
            SnapshotRetentionChange::Delete { .. } => {}
            SnapshotRetentionChange::TagExpiring { snapshot_ids, expires_at } => {
                list(
                    out,
                    "~",
                    &format!("tag as expiring, deleted after {expires_at} if still expired"),
                    snapshot_ids.iter().map(String::as_str).collect(),
                );
            }
            SnapshotRetentionChange::RemoveExpiringTag { snapshot_ids } => {
                list(out, "~", "no longer expired: remove the expiry tag", snapshot_ids.iter().map(String::as_str).collect());
            }
        }
    }
    let deletions: Vec<String> = plan.deletions().map(SnapshotRetentionChange::describe).collect();
    list(out, "-", "delete (expired, grace period over)", deletions.iter().map(String::as_str).collect());
    list(out, "!", "due but over maxDeletionsPerRun: deleted by a later run", with(|v| *v == Verdict::Pending));
    // A set, not a scan per verdict: a first run over 100k snapshots tags most of them.
    let tagged_now: std::collections::HashSet<&str> = plan
        .drift
        .iter()
        .filter_map(|c| match c {
            SnapshotRetentionChange::TagExpiring { snapshot_ids, .. } => Some(snapshot_ids.iter().map(String::as_str)),
            _ => None,
        })
        .flatten()
        .collect();
    let waiting: Vec<&str> = plan
        .verdicts
        .iter()
        .filter(|(id, v)| matches!(v, Verdict::Expiring { .. }) && !tagged_now.contains(id.as_str()))
        .map(|(id, _)| id.as_str())
        .collect();
    if let Some(first) = &plan.earliest_deletion {
        list(out, "=", &format!("expiring, waiting for the grace period (first due {first})"), waiting);
    }
    for protection in Protection::ALL {
        let ids: Vec<&str> =
            plan.verdicts.iter().filter(|(_, v)| *v == Verdict::Protected(protection)).map(|(id, _)| id.as_str()).collect();
        list(out, "=", &format!("expired but kept: {}", protection.describe()), ids);
    }
}

pub fn apply_table(applied: &AppliedRun) -> String {
    let mut out = String::new();
    // Each line with the number of objects it changes, the unit the plan's counts are in
    // (one CreateTags call tags many snapshots).
    let mut lines = Vec::new();
    if let Some(area) = &applied.gateway_endpoints {
        for result in &area.results {
            lines.push((result.change.describe(), result.outcome.clone(), 1));
        }
    }
    if let Some(area) = &applied.snapshots {
        for result in &area.results {
            lines.push((result.change.describe(), result.outcome.clone(), result.change.snapshots()));
        }
    }
    if let Some(area) = &applied.ssm_access {
        for result in &area.results {
            lines.push((result.change.describe(), result.outcome.clone(), 1));
        }
    }
    if let Some(area) = &applied.backup {
        for result in &area.results {
            lines.push((result.change.describe(), result.outcome.clone(), 1));
        }
    }
    if lines.is_empty() {
        if applied.policy.is_audit() {
            let _ = writeln!(out, "Audit mode: nothing was changed.");
        }
        return out;
    }
    let _ = writeln!(out);
    let (mut ok, mut kept, mut failed) = (0, 0, 0);
    for (what, outcome, objects) in lines {
        match outcome {
            Ok(created) => {
                ok += objects;
                let id = created.map(|id| format!(": {id}")).unwrap_or_default();
                let _ = writeln!(out, "  done    {what}{id}");
            }
            Err(error) if matches!(error.kind, ErrorKind::Protected(_) | ErrorKind::NotFound | ErrorKind::Throttled) => {
                kept += objects;
                let _ = writeln!(out, "  skipped {what}: {error}");
            }
            Err(error) => {
                failed += objects;
                let _ = writeln!(out, "  FAILED  {what}: {error}");
            }
        }
    }
    let _ = writeln!(out, "\nApply complete: {ok} changes made, {kept} skipped, {failed} failed.");
    out
}

/// One policy's `-o json` report. The snapshot area borrows the run's plan instead of
/// copying it into a `serde_json::Value` tree: on an account with 10,000 snapshots that tree
/// was the largest allocation of the whole run (about 20 MiB for 8,500 deletions).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonReport<'a> {
    aws_requests: serde_json::Value,
    backup: Option<serde_json::Value>,
    gateway_endpoints: Option<serde_json::Value>,
    mode: String,
    policy: &'a str,
    region: &'a str,
    snapshot_retention: Option<AreaJson<SnapshotsJson<'a>>>,
    ssm_access: Option<serde_json::Value>,
    status: &'a CostPolicyStatus,
    /// The run's first failure (an area not read, a change that failed); absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<super::failure::Failure>,
}

impl JsonReport<'_> {
    pub fn with_error(self, error: Option<super::failure::Failure>) -> Self {
        JsonReport { error, ..self }
    }
}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum AreaJson<T> {
    Failed { error: String },
    Planned(T),
}

#[derive(serde::Serialize)]
struct SnapshotsJson<'a> {
    drift: &'a [SnapshotRetentionChange],
    results: Vec<ResultJson<'a, SnapshotRetentionChange>>,
    verdicts: Vec<VerdictJson<'a>>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct VerdictJson<'a> {
    snapshot_id: &'a str,
    verdict: &'a Verdict,
}

/// One executed change: what was created, or why it failed.
#[derive(serde::Serialize)]
pub(super) struct ResultJson<'a, C> {
    change: &'a C,
    created: Option<&'a str>,
    error: Option<String>,
}

pub(super) fn results_json<C>(results: &[ChangeResult<C>]) -> Vec<ResultJson<'_, C>> {
    results
        .iter()
        .map(|r| ResultJson {
            change: &r.change,
            created: r.outcome.as_ref().ok().and_then(Option::as_deref),
            error: r.outcome.as_ref().err().map(ToString::to_string),
        })
        .collect()
}

pub fn json_report<'a>(applied: &'a AppliedRun, status: &'a CostPolicyStatus, aws_requests: serde_json::Value) -> JsonReport<'a> {
    let policy = &applied.policy;
    let gateway = applied.gateway_endpoints.as_ref().map(|area| match &area.plan {
        AreaPlan::ObservationFailed(error) => json!({ "error": error.to_string() }),
        AreaPlan::Planned(plan) => json!({ "drift": plan.drift, "results": results_json(&area.results) }),
    });
    let snapshots = applied.snapshots.as_ref().map(|area| match &area.plan {
        AreaPlan::ObservationFailed(error) => AreaJson::Failed { error: error.to_string() },
        AreaPlan::Planned(plan) => AreaJson::Planned(SnapshotsJson {
            drift: &plan.drift,
            results: results_json(&area.results),
            verdicts: plan
                .verdicts
                .iter()
                .filter(|(_, v)| *v != Verdict::Retained)
                .map(|(id, verdict)| VerdictJson { snapshot_id: id, verdict })
                .collect(),
        }),
    });
    let backup = applied.backup.as_ref().map(|area| match &area.plan {
        AreaPlan::ObservationFailed(error) => json!({ "error": error.to_string() }),
        AreaPlan::Planned(plan) => json!({
            "drift": plan.drift,
            "differences": plan.differences,
            "blocker": plan.blocker.as_ref().map(|b| b.describe()),
            "results": results_json(&area.results),
        }),
    });
    JsonReport {
        aws_requests,
        backup,
        gateway_endpoints: gateway,
        mode: format!("{:?}", policy.mode),
        policy: &policy.name,
        region: &policy.aws.region,
        snapshot_retention: snapshots,
        ssm_access: applied.ssm_access.as_ref().map(ssm_access::ssm_json),
        status,
        error: None,
    }
}

/// The reports of a run as one pretty-printed JSON array. Each report is serialized as soon
/// as its policy is done, so the run keeps its text, not its values or its plan.
pub fn json_array(reports: &[String]) -> String {
    if reports.is_empty() {
        return "[]".to_string();
    }
    let mut out = String::from("[");
    for (i, report) in reports.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        for (j, line) in report.lines().enumerate() {
            if j > 0 {
                out.push('\n');
            }
            out.push_str("  ");
            out.push_str(line);
        }
    }
    out.push_str("\n]");
    out
}

/// The AWS requests made between two readings of the operator's counters, as
/// `[{service, operation, outcome, count}]`: what this policy cost (reads shared with an
/// earlier policy of the same account cost nothing here).
pub fn aws_requests_json(before: &crate::metrics::AwsRequestCounts, after: &crate::metrics::AwsRequestCounts) -> serde_json::Value {
    after
        .iter()
        .filter_map(|((service, operation, outcome), count)| {
            let count = count.saturating_sub(before.get(&(service.clone(), operation.clone(), outcome.clone())).copied().unwrap_or(0));
            (count > 0).then(|| json!({"service": service, "operation": operation, "outcome": outcome, "count": count}))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{json, json_array};

    #[test]
    fn reports_printed_one_by_one_form_one_json_array() {
        let reports: Vec<String> = [json!({"policy": "a", "n": [1, 2]}), json!({"policy": "b"})]
            .iter()
            .map(|r| serde_json::to_string_pretty(r).expect("serialize"))
            .collect();
        let parsed: serde_json::Value = serde_json::from_str(&json_array(&reports)).expect("valid JSON");
        assert_eq!(parsed, json!([{"policy": "a", "n": [1, 2]}, {"policy": "b"}]));
        assert_eq!(json_array(&[]), "[]");
    }
}
