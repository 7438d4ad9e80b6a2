//! `frugal plan` rendering of the snapshotRetention area: snapshots by verdict, at most
//! [`MAX_LISTED_SNAPSHOTS`] listed per verdict.

use std::fmt::Write;

use crate::engine::areas::SnapshotRetention;
use crate::engine::{AreaOutcome, Output, PlanCounts};
use crate::plan::snapshot_retention::{Protection, SnapshotRetentionChange, SnapshotRetentionPlan, Verdict};
use crate::pricing::{PriceItem, unit_price};

use super::{AreaJson, ResultJson, results_json};

/// At most this many snapshots are listed per verdict; the rest are counted.
const MAX_LISTED_SNAPSHOTS: usize = 20;

impl Output for SnapshotRetention {
    fn plan_section(out: &mut String, plan: &Self::Plan) -> PlanCounts {
        snapshot_table(out, plan);
        let change = plan
            .drift
            .iter()
            .filter(|c| !matches!(c, SnapshotRetentionChange::Delete { .. }))
            .map(SnapshotRetentionChange::snapshots)
            .sum::<usize>();
        let waste = (plan.expired_gib > 0).then(|| {
            format!(
                "Expired snapshots: {} GiB, up to ${:.2}/month (upper bound by volume size, at ${}/GB-month)",
                plan.expired_gib,
                plan.monthly_waste_usd(),
                unit_price(plan.prices.usd(PriceItem::SnapshotGbMonth))
            )
        });
        PlanCounts { create: 0, change, destroy: plan.deletions().count(), waste }
    }

    fn describe(change: &Self::Change) -> String {
        change.describe()
    }

    /// One CreateTags call tags many snapshots.
    fn objects(change: &Self::Change) -> usize {
        change.snapshots()
    }

    type Json<'a> = AreaJson<SnapshotsJson<'a>>;

    fn json(outcome: &AreaOutcome<Self>) -> Self::Json<'_> {
        AreaJson::of(outcome, |plan| SnapshotsJson {
            drift: &plan.drift,
            results: results_json(&outcome.results),
            verdicts: plan
                .verdicts
                .iter()
                .filter(|(_, v)| *v != Verdict::Retained)
                .map(|(id, verdict)| VerdictJson { snapshot_id: id, verdict })
                .collect(),
        })
    }
}

/// Borrows the plan: on 10,000 snapshots a copied JSON tree was the run's largest allocation.
#[derive(serde::Serialize)]
pub struct SnapshotsJson<'a> {
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
